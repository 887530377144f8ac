// Which thrown errors mean "a backing service (Redis, PostgreSQL) is briefly out of reach" (or so
// slow that the function ran out of time) rather than a bug. Those answer 503 + Retry-After (API.md: the client may retry) instead of a 500, and
// the 500s that remain are worth a page.

/** ioredis: command timeout, closed or refused connection, cluster without a slot owner. */
const REDIS_MESSAGES = [
  /^Command timed out/,
  /^Connection is closed/,
  /^Reached the max retries per request limit/,
  /^Failed to refresh slots cache/,
  /^Too many Cluster redirections/,
  /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|BUSY) /,
  /^connect (ECONNREFUSED|ETIMEDOUT)/,
];
const REDIS_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);

/** postgres.js connection errors, and PostgreSQL's connection-exception / shutdown / capacity codes. */
const PG_CLIENT_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);
const PG_SQLSTATE = /^(08\d{3}|57P0[1-3]|53300|57014)$/;

export function isDependencyUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (isFunctionOutOfTime(err)) return true;
  if (REDIS_NAMES.has(err.name) || REDIS_MESSAGES.some((re) => re.test(err.message))) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return (
    PG_CLIENT_CODES.has(code) || PG_SQLSTATE.test(code) || code === 'ECONNREFUSED' || code === 'ETIMEDOUT'
  );
}

/**
 * middy's early timeout: the function's time ran out while a backing service was slow to answer.
 * The outcome may be unknown, exactly as for a command timeout: 503, retry (with the same key).
 */
function isFunctionOutOfTime(err: Error): boolean {
  return (
    err.name === 'TimeoutError' && (err.cause as { package?: unknown } | undefined)?.package === '@middy/core'
  );
}
