// GET /docs and GET /docs/{asset}: Swagger UI (swagger-ui-dist) for /openapi.json. Every file is
// served by this function (no CDN), read once per container; see serverless.yml package.patterns.
import { type Asset, assetResult, fileAsset, textAsset } from '../lib/http/assets';
import { publicRoute } from '../lib/http/http-route';
import { Problem } from '../lib/http/problems';
import * as routes from '../lib/http/routes/operations';

const UI_DIR = 'node_modules/swagger-ui-dist';
const FILES: Record<string, () => Asset> = {
  'swagger-ui.css': () => fileAsset(`${UI_DIR}/swagger-ui.css`, 'text/css; charset=utf-8'),
  'swagger-ui-bundle.js': () => fileAsset(`${UI_DIR}/swagger-ui-bundle.js`, 'text/javascript; charset=utf-8'),
  'init.js': () => INIT,
};

const INIT = textAsset(
  `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`,
  'text/javascript; charset=utf-8',
);

/** Only what the page loads; scripts only from here (the init script is a file for that reason). */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export const handler = publicRoute(routes.docs, async ({ event }) => {
  const name = event.pathParameters?.['asset'];
  const accept = event.headers['accept-encoding'];
  if (name === undefined) {
    return assetResult(page(), accept, { 'cache-control': 'no-cache', 'content-security-policy': CSP });
  }
  const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!file) throw new Problem('not-found', `no docs file named ${name}`);
  // URLs carry the content hash (?v=), so a cached copy is never stale.
  return assetResult(file(), accept, { 'cache-control': 'public, max-age=31536000, immutable' });
});

let html: Asset | undefined;

function page(): Asset {
  const v = (name: string) => `/docs/${name}?v=${FILES[name]!().hash}`;
  html ??= textAsset(
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flash-sale API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${v('swagger-ui.css')}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${v('swagger-ui-bundle.js')}"></script>
<script src="${v('init.js')}"></script>
</body>
</html>
`,
    'text/html; charset=utf-8',
  );
  return html;
}
