// The middy chain every HTTP handler runs in: CORS, problem+json errors, one access-log line (with
// the Lambda context and the request's correlation id), secrets, zod query and body validation.
// Public routes use it as publicRoute(); route.ts adds bearer auth and rate limits. Nothing here
// reaches Redis or a token verifier, so a public function's bundle carries neither.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import cors from '@middy/http-cors';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { $ZodType as ZodType } from 'zod/v4/core';
import { config } from '../config';
import { isDependencyUnavailable } from '../platform/dependency-errors';
import { logger } from '../platform/logger';
import { secretsFirst } from '../platform/secrets';
import type { Identity } from './auth';
import { parseJsonBody, parseQuery } from './body';
import { Problem, type ProblemCode, problemBody } from './problems';
import type { Auth, RouteDeclaration } from './routes/declare';

export type Event = APIGatewayProxyEventV2;
export type Result = APIGatewayProxyStructuredResultV2;

export interface RouteRequest<B, Q = undefined> {
  event: Event;
  identity: Identity;
  body: B;
  query: Q;
  /**
   * Names the order this request is about: its access-log line carries it as `correlation_id`, the
   * key that follows an order from createOrder through persistOrders to the webhook (README,
   * "Logs and metrics").
   */
  correlate: (order_id: string) => void;
}

/**
 * A route's declaration (routes/), plus what only the handler knows. Handlers pass their
 * declaration as it is, so auth and schemas are the ones the OpenAPI document describes.
 */
export interface RouteOptions<B, Q = undefined>
  extends Partial<Omit<RouteDeclaration, 'auth' | 'body' | 'query'>> {
  /** who may call: anyone, a buyer (any valid token), or an admin token */
  auth: Auth;
  body?: ZodType<B>;
  /** the query string, validated like the body (400 naming the parameter) */
  query?: ZodType<Q>;
  /** told of every thrown problem route() answers: the handler's outcome metrics (it counts those it returns) */
  onProblem?: (code: ProblemCode) => void;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): Result {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** What a handler answers: a response, or a Problem that route() answers as it answers a thrown one. */
export type Answer = Result | Problem;

function problemResult(p: Problem, instance?: string): Result {
  return {
    statusCode: p.status,
    headers: { 'content-type': 'application/problem+json', ...p.headers },
    body: JSON.stringify(problemBody(p, instance)),
  };
}

function corsHeaders(): MiddlewareObj<Event, Result> {
  const origins = config()
    .CORS_ORIGINS.split(',')
    .map((o) => o.trim());
  return cors({
    origins,
    headers: 'Authorization,Content-Type,Idempotency-Key',
    exposeHeaders: 'Location,Retry-After,Idempotent-Replayed',
    methods: 'GET,POST,PATCH,OPTIONS',
  }) as MiddlewareObj<Event, Result>;
}

/**
 * Maps a thrown Problem to its response; a backing service out of reach to a 503; anything else is
 * a 500 whose details stay in the log.
 */
function problemErrors(onProblem?: (code: ProblemCode) => void): MiddlewareObj<Event, Result> {
  return {
    onError: async (request) => {
      const err = request.error;
      if (err instanceof Problem) {
        onProblem?.(err.code);
        request.response = problemResult(err, request.event.rawPath);
        return;
      }
      if (isDependencyUnavailable(err)) {
        // Redis or PostgreSQL briefly out of reach: the caller may retry; not a bug, still logged.
        onProblem?.('unavailable');
        logger.warn('dependency unavailable', { error: err as Error, path: request.event.rawPath });
        request.response = problemResult(
          new Problem(
            'unavailable',
            'a backing service is briefly unavailable; retry',
            {},
            { 'Retry-After': '1' },
          ),
          request.event.rawPath,
        );
        return;
      }
      onProblem?.('internal');
      logger.error('unhandled error', { error: err as Error, path: request.event.rawPath });
      request.response = problemResult(
        new Problem('internal', 'an internal error occurred; it has been logged'),
        request.event.rawPath,
      );
    },
  };
}

/**
 * One line per request. Per-request values live in WeakMaps keyed by the event, not in the shared
 * logger's keys: serverless-offline runs concurrent requests in one process, where a key appended
 * for one request would land on another's line.
 */
function accessLog(): MiddlewareObj<Event, Result> & { correlate: (e: Event, id: string) => void } {
  const started = new WeakMap<object, number>();
  const correlation = new WeakMap<object, string>();
  const line = (request: { event: Event; response: Result | null | undefined }) => {
    const t0 = started.get(request.event);
    logger.info('request', {
      method: request.event.requestContext?.http?.method,
      path: request.event.rawPath,
      status: request.response?.statusCode,
      duration_ms: t0 === undefined ? undefined : Math.round((performance.now() - t0) * 100) / 100,
      request_id: request.event.requestContext?.requestId,
      correlation_id: correlation.get(request.event),
    });
  };
  return {
    correlate: (e, id) => {
      correlation.set(e, id);
    },
    before: async (request) => {
      started.set(request.event, performance.now());
    },
    after: async (request) => line(request),
    onError: async (request) => {
      if (request.response) line(request);
    },
  };
}

export const ANONYMOUS: Identity = { customer_id: '', admin: false };

/** Who is calling, or a thrown Problem (401, 403, 429): runs before the body is validated. */
export type Identify = (event: Event, auth: Auth) => Promise<Identity>;

export function httpRoute<B = undefined, Q = undefined>(
  opts: RouteOptions<B, Q>,
  identify: Identify,
  fn: (req: RouteRequest<B, Q>) => Promise<Answer>,
) {
  const log = accessLog();
  return middy<Event, Result>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(corsHeaders())
    .use(log)
    .use(problemErrors(opts.onProblem))
    .use(secretsFirst<Event, Result>())
    .handler(async (event) => {
      // Auth before the body (API.md): an unauthenticated caller learns nothing about validation.
      const identity = await identify(event, opts.auth);
      const query = opts.query ? parseQuery(event, opts.query) : (undefined as Q);
      // A signed body (the webhook) is parsed by its handler once the signature is verified.
      const body =
        opts.body && !opts.body_parsed_by_handler ? parseJsonBody(event, opts.body) : (undefined as B);
      const answer = await fn({ event, identity, body, query, correlate: (id) => log.correlate(event, id) });
      // Returned rather than thrown where a refusal is an expected outcome (sold out, rebuilding):
      // the same body, `instance` included, without unwinding through the middlewares.
      return answer instanceof Problem ? problemResult(answer, event.rawPath) : answer;
    });
}

/** A route anyone may call: no token read, no rate limit. */
export function publicRoute<B = undefined, Q = undefined>(
  opts: RouteOptions<B, Q> & { auth: 'public' },
  fn: (req: RouteRequest<B, Q>) => Promise<Answer>,
) {
  return httpRoute(opts, async () => ANONYMOUS, fn);
}
