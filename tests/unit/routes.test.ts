// Pins down that the route declarations (lib/http/routes) and serverless.yml name the same HTTP API:
// every declared route is an httpApi event of its function with its method and path, and every
// httpApi event is declared (the catch-all "*" aside; the local sandbox's routes are in neither);
// the declared auth is the one enforced: no API Gateway authorizer, and the function's handler
// passes its declaration to route(), which checks the token it names.
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ROUTE_LIST, ROUTES } from '../../lib/http/routes/index';

interface HttpApiEvent {
  method: string;
  path: string;
  authorizer?: unknown;
}
interface Fn {
  handler: string;
  events?: { httpApi?: string | HttpApiEvent }[];
}

const yml = load(readFileSync('serverless.yml', 'utf8')) as { functions: Record<string, Fn> };
const events = Object.entries(yml.functions).flatMap(([fn, f]) =>
  (f.events ?? []).flatMap((e) => (e.httpApi && typeof e.httpApi === 'object' ? [{ fn, ...e.httpApi }] : [])),
);
const key = (r: { fn: string; method: string; path: string }) =>
  `${r.fn} ${r.method.toLowerCase()} ${r.path}`;

/** The source of a function's handler module (`functions/admin/audit.handler` → functions/admin/audit.ts). */
const handlerSource = (fn: string) => {
  const handler = yml.functions[fn]!.handler;
  return readFileSync(`${handler.slice(0, handler.lastIndexOf('.'))}.ts`, 'utf8');
};

describe('route declarations and serverless.yml', () => {
  it('declare the same routes: function, method and path, both ways', () => {
    expect(events.length).toBeGreaterThan(10);
    expect(ROUTE_LIST.map(key).sort()).toEqual(events.map(key).sort());
  });

  it('every route is declared once (one method and path, one name)', () => {
    const seen = ROUTE_LIST.map((r) => `${r.method} ${r.path}`);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('no local-only sandbox route is declared or deployed', () => {
    for (const path of ['/shop', '/local/token', '/provider/payments', '/provider/stats']) {
      expect(ROUTE_LIST.filter((r) => r.path.startsWith(path))).toEqual([]);
      expect(events.filter((e) => e.path.startsWith(path))).toEqual([]);
    }
  });

  it('the declared auth is enforced by the function itself: no authorizer, the handler takes its declaration', () => {
    for (const e of events) expect(e.authorizer, key(e)).toBeUndefined();
    for (const [name, r] of Object.entries(ROUTES)) {
      // docsAsset is served by the docs function, under the docs declaration (public as well)
      const used = name === 'docsAsset' ? 'docs' : name;
      expect(ROUTES[used as keyof typeof ROUTES].auth, name).toBe(r.auth);
      const passes = new RegExp(`(route|publicRoute)\\(\\s*(\\{\\s*\\.\\.\\.)?routes\\.${used}\\b`);
      expect(handlerSource(r.fn), `${r.fn} passes routes.${used} to route()`).toMatch(passes);
      if (r.auth !== 'public') expect(handlerSource(r.fn)).not.toMatch(/publicRoute/);
    }
  });
});
