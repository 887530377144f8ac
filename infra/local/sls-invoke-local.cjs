// Makes `sls invoke local -f NAME` work with this project's bundles and clients:
// 1. serverless-esbuild emits `functions/X.mjs` (so Lambda runs it as ESM without a package.json),
//    but osls's invoke local require()s the handler path without an extension and falls back only
//    to `.cjs` / `.js`, never `.mjs` (serverless/serverless#11308): "Cannot find module". After
//    serverless-esbuild's build (plugin order) the handler is pointed at the bundle file by name;
//    Node >= 22.12 require()s an ES module.
// 2. The CLI waits for the event loop to empty, and the per-container Redis and PostgreSQL clients
//    (kept open on purpose, as in Lambda) never let it: the command printed its result and hung.
//    Lambda freezes the container after the response; here the process exits once the command is done.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const EXIT_GRACE_MS = 500; // lets the CLI finish its own closing work first

class SlsInvokeLocal {
  constructor(serverless, options) {
    this.hooks = {
      'before:invoke:local:invoke': () => {
        const fn = options.functionObj;
        if (!fn || typeof fn.handler !== 'string') return;
        const dot = fn.handler.lastIndexOf('.');
        const file = fn.handler.slice(0, dot);
        const dir = serverless.serviceDir;
        if (!existsSync(join(dir, `${file}.js`)) && existsSync(join(dir, `${file}.mjs`))) {
          fn.handler = `${file}.mjs${fn.handler.slice(dot)}`;
        }
      },
      'after:invoke:local:invoke': () => {
        setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
      },
    };
  }
}

module.exports = SlsInvokeLocal;
