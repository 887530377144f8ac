// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) for the page tests.
// Outside CI they skip where it is not installed; in CI (CI=true, which .ci/run sets and whose
// system-packages stage installs chromium) they always run, and a missing browser fails them.
import { existsSync } from 'node:fs';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const installed = existsSync(CHROMIUM);
/** false only outside CI without Chromium: `it.skipIf(!hasChromium)` */
export const hasChromium = installed || process.env['CI'] === 'true';

/** Flags that keep the browser off the network and quiet in a container run as root. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface PageWatch {
  page: Page;
  /** console errors, uncaught exceptions and failed requests */
  errors: string[];
  /** requests that left the stack's origin (the pages must need none) */
  external: string[];
}

/** Runs `fn` with a fresh page; the browser is closed afterwards whatever happens. */
export async function withPage<T>(
  origin: string,
  fn: (w: PageWatch) => Promise<T>,
  context: BrowserContextOptions = {},
): Promise<T> {
  if (!installed) throw new Error(`CI=true but ${CHROMIUM} is missing: apt-get install -y chromium`);
  const { chromium } = await import('playwright-core');
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, ...context });
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
