// Static files served by functions (the docs UI, the dashboard page), read once per container.
// Paths are relative to the function's working directory: the project root under
// serverless-offline and `sls invoke local`, /var/task in Lambda, where each function's
// `package.patterns` in serverless.yml puts the files it serves.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Result } from './route';

export interface Asset {
  body: string;
  content_type: string;
  /** first 12 hex digits of the SHA-256 of the body: a cache-busting version for URLs */
  hash: string;
  gzip: Buffer | null;
}

/** Smaller bodies are sent as they are; compressing them saves less than it costs. */
const GZIP_BYTES_MIN = 8 * 1024;
const cache = new Map<string, Asset>();

export function fileAsset(rel_path: string, content_type: string): Asset {
  let a = cache.get(rel_path);
  if (!a) {
    a = textAsset(readFileSync(join(process.cwd(), rel_path), 'utf8'), content_type);
    cache.set(rel_path, a);
  }
  return a;
}

export function textAsset(body: string, content_type: string): Asset {
  const bytes = Buffer.from(body, 'utf8');
  return {
    body,
    content_type,
    hash: createHash('sha256').update(bytes).digest('hex').slice(0, 12),
    gzip: bytes.length >= GZIP_BYTES_MIN ? gzipSync(bytes) : null,
  };
}

/** The asset as a response, gzipped when the client accepts it. */
export function assetResult(
  a: Asset,
  accept_encoding: string | undefined,
  headers: Record<string, string> = {},
): Result {
  const base = { 'content-type': a.content_type, vary: 'accept-encoding', ...headers };
  if (a.gzip && /\bgzip\b/i.test(accept_encoding ?? '')) {
    return {
      statusCode: 200,
      headers: { ...base, 'content-encoding': 'gzip' },
      body: a.gzip.toString('base64'),
      isBase64Encoded: true,
    };
  }
  return { statusCode: 200, headers: base, body: a.body };
}
