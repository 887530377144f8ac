// Pins down GET /docs: an HTML page whose every asset (Swagger UI's files, served by the function
// itself, no CDN) answers 200, gzipped on request; unknown files are a problem+json 404; and, where
// Chromium is installed, the UI renders one block per operation of /openapi.json without errors.
import { describe, expect, it } from 'vitest';
import { baseUrl, call } from '../helpers/api';
import { hasChromium, withPage } from '../helpers/browser';

async function page(): Promise<{ html: string; assets: string[] }> {
  const r = await fetch(`${baseUrl()}/docs`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await r.text();
  const assets = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)]
    .map((m) => m[1]!)
    .filter((u) => !u.startsWith('data:'));
  return { html, assets };
}

describe('GET /docs', () => {
  it('returns the UI page; every asset it names is served here with 200', async () => {
    const { html, assets } = await page();
    expect(html).toContain('id="swagger-ui"');
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const url of assets) {
      expect(url, 'no CDN: assets come from this API').toMatch(/^\/docs\//);
      const r = await fetch(`${baseUrl()}${url}`);
      expect(r.status, url).toBe(200);
      expect(r.headers.get('content-type'), url).toMatch(/^text\/(css|javascript)/);
      expect(r.headers.get('cache-control'), url).toMatch(/immutable/);
      expect((await r.text()).length, url).toBeGreaterThan(100);
    }
    const init = await (await fetch(`${baseUrl()}${assets.find((u) => u.includes('init.js'))}`)).text();
    expect(init).toContain("url: '/openapi.json'");
  });

  it('sends large assets gzipped when the client accepts it', async () => {
    const { assets } = await page();
    const bundle = assets.find((u) => u.includes('swagger-ui-bundle.js'))!;
    const plain = await fetch(`${baseUrl()}${bundle}`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    const zipped = await fetch(`${baseUrl()}${bundle}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(await zipped.text()).toBe(await plain.text()); // fetch decompresses
  });

  it('answers a problem+json 404 for any other file', async () => {
    for (const path of ['/docs/nope.js', '/docs/..%2Fpackage.json', '/docs/index.html', '/docs/toString']) {
      const r = await call('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it.skipIf(!hasChromium)('renders every operation in a real browser, offline, without errors', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    const ops = Object.values(doc.paths).flatMap((item: any) => Object.keys(item)).length;
    await withPage(baseUrl(), async ({ page, errors, external }) => {
      await page.goto(`${baseUrl()}/docs`);
      await page.waitForSelector('.opblock', { timeout: 20_000 });
      expect(await page.locator('.opblock').count()).toBe(ops);
      expect(await page.locator('.info .title').textContent()).toContain('flash-sale');
      expect(errors).toEqual([]);
      expect(external).toEqual([]);
    });
  });
});
