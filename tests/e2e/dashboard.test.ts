// Pins down GET /: one self-contained HTML page (no external asset, its inline script allowed by
// the CSP hash it is sent with) that, given an admin token, polls /api/admin/stats and draws a bar
// per product; with a buyer token it asks again. Browser checks run where Chromium is installed;
// DASHBOARD_SCREENSHOT=path saves what the browser saw (docs/dashboard.png was made that way).
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminToken, baseUrl, buyerToken, newProduct, reserve } from '../helpers/api';
import { hasChromium, withPage } from '../helpers/browser';

describe('GET /', () => {
  it('returns the dashboard page, self-contained', async () => {
    const r = await fetch(`${baseUrl()}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await r.text();
    expect(html).toContain('/api/admin/stats');
    expect(html).toMatch(/<svg/);
    expect(html, 'no external scripts, styles or images').not.toMatch(/\b(?:src|href)="(?:https?:)?\/\//);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+stylesheet/);
  });

  it('is sent with a CSP whose script hash is the page script', async () => {
    const r = await fetch(`${baseUrl()}/`);
    const html = await r.text();
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const sha = createHash('sha256').update(scripts[0]!, 'utf8').digest('base64');
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`script-src 'sha256-${sha}'`);
    expect(csp).toContain("connect-src 'self'");
  });

  it.skipIf(!hasChromium)(
    'draws a bar per product from live figures, given an admin token',
    {
      timeout: 60_000,
    },
    async () => {
      const product = await newProduct({ stock_total: 40 });
      const buyer = await buyerToken();
      for (const qty of [3, 2, 4]) expect((await reserve(buyer, product.id, qty)).status).toBe(202);
      const token = await adminToken();
      await withPage(baseUrl(), async ({ page, errors, external }) => {
        await page.goto(`${baseUrl()}/?token=${token}&product_id=${product.id}`);
        const row = page.locator(`[data-product="${product.id}"]`);
        await row.waitFor({ timeout: 15_000 });
        // The token leaves the address bar; the stats query stays.
        expect(page.url()).toBe(`${baseUrl()}/?product_id=${product.id}`);
        expect(await row.locator('rect[data-part="available"]').count()).toBe(1);
        expect(await row.locator('rect[data-part="paid"]').count()).toBe(0);
        await expect
          .poll(() => row.locator('.sku-text').textContent(), { timeout: 10_000 })
          .toContain('31/40 left');
        await expect
          .poll(() => page.locator('#status').textContent(), { timeout: 10_000 })
          .toMatch(/^(OK|DRIFT)$/);
        // Sparklines fill as polls arrive.
        await expect.poll(() => page.locator('#rate-spark polyline').count(), { timeout: 5000 }).toBe(1);
        await page.waitForTimeout(3000);
        const shot = process.env['DASHBOARD_SCREENSHOT'] ?? join(tmpdir(), `dashboard-${process.pid}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        expect(errors).toEqual([]);
        expect(external).toEqual([]);
      });
    },
  );

  it.skipIf(!hasChromium)(
    'asks for a token, and again when the one given is not an admin token',
    async () => {
      const buyer = await buyerToken();
      await withPage(baseUrl(), async ({ page, external }) => {
        await page.goto(`${baseUrl()}/`);
        await page.locator('#login').waitFor({ state: 'visible' });
        expect(await page.locator('#dash').isHidden()).toBe(true);
        await page.fill('#token', buyer);
        await page.click('#login button[type="submit"]');
        await expect
          .poll(() => page.locator('#login-msg').textContent(), { timeout: 10_000 })
          .toContain('not an admin token');
        await page.fill('#token', await adminToken());
        await page.click('#login button[type="submit"]');
        await page.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });
        expect(await page.locator('#dash').isVisible()).toBe(true);
        expect(external).toEqual([]);
      });
    },
  );
});
