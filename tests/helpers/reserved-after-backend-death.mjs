// Child process for tests/integration/postgres-closed-socket.test.ts: connections whose backend
// is terminated, then small queries on them, the way this project holds them (a transaction,
// sql.begin) and as upstream #1208 reports it (sql.reserve). Unpatched postgres.js 3.4.9 throws
// an uncaught TypeError from a setImmediate (`nextWrite` on a null socket) and this process dies;
// patched, each query rejects and the process prints the outcomes as one JSON line and exits 0.
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
let connectionClosed = () => {};
const sql = postgres(url, { max: 2, onnotice: () => {}, onclose: () => connectionClosed() });
const killer = postgres(url, { max: 1, onnotice: () => {} });

/** Terminates the backend behind `conn` and resolves once the pool has handled the close (its
 * socket is null then). Querying only after that: a query written to the still-open dying socket
 * is left pending by postgres.js when the close comes as an RST, another bug than this one. */
async function terminateBackend(conn) {
  const closed = new Promise((resolve) => {
    connectionClosed = resolve;
  });
  const [{ pid }] = await conn`select pg_backend_pid() as pid`;
  await killer`select pg_terminate_backend(${pid})`;
  await closed;
}

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
await terminateBackend(reserved);
const reservedAfter = [await outcome(reserved`select 1`), await outcome(reserved`select 1`)];
// Not reserved.release(): handing the dead connection back to the pool is upstream's other bug
// (the pool then keeps it; see #1168's thread), which the patch does not address.
const transaction = await outcome(
  sql.begin(async (tx) => {
    await terminateBackend(tx);
    await tx`select 1`;
  }),
);
console.log(JSON.stringify({ variant, reservedAfter, transaction }));
await Promise.all([sql.end({ timeout: 1 }), killer.end({ timeout: 1 })]);
