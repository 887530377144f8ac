// Child process for tests/integration/postgres-closed-socket.test.ts: a reserved postgres.js
// connection whose backend is terminated, then two small queries on it (upstream #1208's
// sequence). Unpatched postgres.js 3.4.9 throws an uncaught TypeError from a setImmediate
// (`nextWrite` on a null socket) and this process dies; patched, each query rejects and the
// process prints what happened as one JSON line and exits 0.
// Usage: node reserved-after-backend-death.mjs esm|cjs   (DATABASE_URL in the environment)
import { createRequire } from 'node:module';

const variant = process.argv[2];
const postgres =
  variant === 'cjs'
    ? createRequire(import.meta.url)('postgres') // cjs/src, what `require` loads
    : (await import('postgres')).default; // src, what tsx and the esbuild bundles load
// Long enough for a reconnect, short enough to tell a hung query (the drop-only guard of #1168)
const QUERY_SETTLE_MS = 5_000;

const url = process.env.DATABASE_URL;
// Resolved when the pool has seen a connection close (after closed() has set its socket to null).
let connectionClosed;
const closedSeen = new Promise((resolve) => {
  connectionClosed = resolve;
});
const sql = postgres(url, { max: 2, onnotice: () => {}, onclose: () => connectionClosed() });
const killer = postgres(url, { max: 1, onnotice: () => {} });

/** 'ok', the rejection's code, or 'hung' when the query neither resolves nor rejects in time. */
async function outcome(query) {
  let timer;
  const hung = new Promise((resolve) => {
    timer = setTimeout(() => resolve('hung'), QUERY_SETTLE_MS);
  });
  const settled = query.then(
    () => 'ok',
    (e) => e.code ?? String(e),
  );
  const result = await Promise.race([settled, hung]);
  clearTimeout(timer);
  return result;
}

const reserved = await sql.reserve();
const [{ pid }] = await reserved`select pg_backend_pid() as pid`;
await killer`select pg_terminate_backend(${pid})`;
// Query only once the close is handled: otherwise a query can still be written to the dying
// socket, and on an RST (hadError) postgres.js leaves it unsettled; that hang is another bug.
await closedSeen;
const reservedAfter = [await outcome(reserved`select 1`), await outcome(reserved`select 1`)];
// Not reserved.release(): handing the dead connection back to the pool is upstream's other bug
// (the pool then keeps it; see #1168's thread), which the patch does not address.
console.log(JSON.stringify({ variant, reservedAfter }));
await Promise.all([sql.end({ timeout: 1 }), killer.end({ timeout: 1 })]);
