// Headless Chromium for the page tests, when Debian's chromium is installed (CI does not need it:
// tests that use it are skipped without it).
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export interface PageWatch {
  page: Page;
  /** console errors, uncaught exceptions and failed requests */
  errors: string[];
  /** requests that left the stack's origin (the pages must need none) */
  external: string[];
}

/** Runs `fn` with a fresh page; the browser is closed afterwards whatever happens. */
export async function withPage<T>(origin: string, fn: (w: PageWatch) => Promise<T>): Promise<T> {
  const { chromium } = await import('playwright-core');
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const w: PageWatch = { page, errors: [], external: [] };
    page.on('console', (m) => {
      if (m.type() === 'error') w.errors.push(m.text());
    });
    page.on('pageerror', (e) => w.errors.push(String(e)));
    page.on('requestfailed', (r) => w.errors.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith(origin) && !url.startsWith('data:')) w.external.push(url);
    });
    return await fn(w);
  } finally {
    await browser.close();
  }
}
