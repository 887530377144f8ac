// GET /: the live dashboard, one self-contained page (web/dashboard.html) read once per container.
// It asks for an admin token and polls /api/admin/stats; the page itself is public.
import { createHash } from 'node:crypto';
import { type Asset, assetResult, fileAsset } from '../lib/http/assets';
import { publicRoute } from '../lib/http/http-route';
import * as routes from '../lib/http/routes/operations';

const PAGE = 'web/dashboard.html';

let served: { page: Asset; csp: string } | undefined;

function dashboard() {
  if (served) return served;
  const page = fileAsset(PAGE, 'text/html; charset=utf-8');
  // The page's one inline script is allowed by its hash, nothing else runs.
  const script = /<script>([\s\S]*?)<\/script>/.exec(page.body)?.[1];
  if (script === undefined) throw new Error(`${PAGE} has no inline script`);
  const sha = createHash('sha256').update(script, 'utf8').digest('base64');
  const csp =
    `default-src 'none'; script-src 'sha256-${sha}'; style-src 'unsafe-inline'; img-src data:; ` +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  served = { page, csp };
  return served;
}

export const handler = publicRoute(routes.dashboard, async ({ event }) => {
  const { page, csp } = dashboard();
  return assetResult(page, event.headers['accept-encoding'], {
    'cache-control': 'no-cache',
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
  });
});
