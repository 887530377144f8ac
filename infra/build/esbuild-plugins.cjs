// esbuild plugins of every function bundle: serverless.yml `custom.esbuild.plugins` (what `sls
// package` and serverless-offline build), and the bench's and profiles' own builds of the same
// bundles (load/bench/cold-start.ts, load/profile/bundle.ts). CommonJS: serverless-esbuild
// `require`s this file.
const { readFile } = require('node:fs/promises');

/** The loop in ioredis' Commander.js this plugin prepares for (its first line, unchanged). */
const COMMAND_LOOP = 'commands.forEach(function (commandName) {';
/** What goes right before it: one property added and deleted puts the prototype in dictionary mode. */
const DICTIONARY_MODE =
  'Commander.prototype.__dictionaryMode = 1; delete Commander.prototype.__dictionaryMode;';

/**
 * ioredis defines its ~600 command methods on Commander.prototype one at a time when it loads.
 * V8 keeps an object used as a prototype in fast mode and copies its descriptors on every property
 * added, so the loop is quadratic: ~9 ms of every cold start on this machine (README, "Cold
 * starts"). In dictionary mode each addition is constant time; V8 turns the prototype fast again
 * the first time a method is looked up on an instance, once, and calls cost what they did.
 * Fails the build if ioredis' loop is no longer what it prepares for (an upgrade), rather than
 * shipping without it unnoticed.
 */
const ioredisCommanderPrototype = {
  name: 'ioredis-commander-prototype',
  setup(build) {
    build.onLoad({ filter: /[\\/]ioredis[\\/]built[\\/]utils[\\/]Commander\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (source.split(COMMAND_LOOP).length !== 2)
        throw new Error(
          `${args.path}: ioredis' command loop ("${COMMAND_LOOP}") is not there once; ` +
            'infra/build/esbuild-plugins.cjs prepares it and needs updating for this ioredis',
        );
      // On the loop's own line: every line keeps its number in the bundle's source map.
      return { contents: source.replace(COMMAND_LOOP, `${DICTIONARY_MODE} ${COMMAND_LOOP}`), loader: 'js' };
    });
  },
};

module.exports = [ioredisCommanderPrototype];
module.exports.DICTIONARY_MODE = DICTIONARY_MODE;
