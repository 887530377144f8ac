// Pins down that no packaged stage carries the local sandbox: the `dev` and `prod` packages this
// project's global setup made (`sls package`, osls, offline, no AWS credentials: infra/aws/package.ts,
// what `npm run deploy` ships) hold no route, function or code of the storefront, the buyer token
// endpoint, the test payment provider or webhook signing.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageDir } from '../../infra/aws/package';

const LOCAL_ONLY_PATHS = ['/shop', '/local/token', '/provider/payments', '/provider/stats'];
/** strings only the sandbox code has: its routes, its token minting (jose's SignJWT), its pages */
const LOCAL_ONLY_CODE = [...LOCAL_ONLY_PATHS, 'shop.html', 'shopper-', 'SignJWT', 'setIssuedAt'];

function bundles(dir: string) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.zip'))
    .map((zip) => {
      const path = join(dir, zip);
      const entries = execFileSync('unzip', ['-Z1', path], { encoding: 'utf8' }).trim().split('\n');
      const read = (entry: string) =>
        execFileSync('unzip', ['-p', path, entry], { maxBuffer: 64 << 20 }).toString();
      const code = entries
        .filter((e) => e.endsWith('.mjs'))
        .map(read)
        .join('\n');
      const map = entries.find((e) => e.endsWith('.mjs.map'));
      const sources: string[] = map ? JSON.parse(read(map)).sources : [];
      return { zip, entries, code, sources };
    });
}

describe('sls package', () => {
  it.each(['dev', 'prod'])(
    '--stage %s: no sandbox route, function, code, token minting or webhook signer',
    (stage) => {
      const dir = packageDir(stage);
      const template = readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8');
      // as routes (a stage's CORS origin may well be https://shop.example.com)
      const routes = [...template.matchAll(/"RouteKey": "([^"]+)"/g)].map((m) => m[1]!.split(' ').at(-1)!);
      expect(routes.length).toBeGreaterThan(10);
      for (const p of LOCAL_ONLY_PATHS)
        expect(
          routes.filter((r) => r.startsWith(p)),
          p,
        ).toEqual([]);
      expect(template).not.toMatch(/sandbox|provider|storefront/i);
      // The bench's functions (load/bench/serverless.bench.yml: floor, sendOnly, rowLock) are served
      // by the bench's own serverless-offline only: no route, no function, no module of theirs here.
      expect(routes.filter((r) => r.startsWith('/bench'))).toEqual([]);
      expect(template).not.toMatch(/SendOnly|RowLock|bench-send-only/);
      const all = bundles(dir);
      expect(all.map((b) => b.zip)).toContain('paymentWebhook.zip');
      // The webhook function verifies (the standardwebhooks library is bundled) and signs nothing.
      const webhook = all.find((b) => b.zip === 'paymentWebhook.zip')!;
      expect(webhook.sources.some((s) => s.includes('node_modules/standardwebhooks/'))).toBe(true);
      for (const b of all) {
        expect(
          b.entries.filter((e) => e.startsWith('infra/') || e.includes('shop')),
          b.zip,
        ).toEqual([]);
        expect(b.sources.length, `${b.zip} has a source map listing its modules`).toBeGreaterThan(0);
        // The signer lives in infra/local/sandbox/sign.ts: nothing from there is in any bundle.
        expect(
          b.sources.filter((s) => /infra\/|bin\/|tests\/|web\/|(^|\/)load\/bench\//.test(s)),
          b.zip,
        ).toEqual([]);
        for (const needle of LOCAL_ONLY_CODE)
          expect(b.code.includes(needle), `${b.zip}: ${needle}`).toBe(false);
      }
    },
  );

  it.each(['dev', 'prod'])(
    "--stage %s: every bundle with ioredis is built with the project's esbuild plugin (serverless.yml plugins)",
    (stage) => {
      const withRedis = bundles(packageDir(stage)).filter((b) =>
        b.sources.some((s) => s.endsWith('node_modules/ioredis/built/utils/Commander.js')),
      );
      expect(withRedis.map((b) => b.zip)).toContain('createOrder.zip');
      // infra/build/esbuild-plugins.cjs: Commander's prototype in dictionary mode before its command loop.
      for (const b of withRedis) expect(b.code.includes('__dictionaryMode'), b.zip).toBe(true);
    },
  );
});
