// The OpenAPI 3.1 document of the whole API (GET /openapi.json), generated from the zod schemas
// that validate requests (schemas.ts, webhook.ts), the response views (view-schemas.ts) and the
// error catalogue (problems.ts). The route table below lists every httpApi route of serverless.yml;
// tests/e2e/openapi.test.ts fails when the two disagree.
import { z } from 'zod';
import { CATALOGUE, PROBLEM_BASE, type ProblemCode } from './problems';
import {
  CreateOrderBody,
  CreateProductBody,
  IdempotencyKey,
  ListOrdersQuery,
  StatsQuery,
  UpdateProductBody,
} from './schemas';
import {
  AuditReportView,
  HealthView,
  OrderList,
  OrderView,
  PaymentResultView,
  ProblemView,
  ProductList,
  ProductView,
  ReadyView,
  StatsView,
} from './view-schemas';
import { PaymentWebhookBody } from './webhook';

/** Any zod schema, classic or zod/mini (POST /api/orders' are mini: order-schemas.ts). */
type ZodType = z.core.$ZodType;

type JsonSchema = Record<string, unknown>;
type Auth = 'public' | 'buyer' | 'admin';

interface Header {
  name: string;
  schema: ZodType;
  description: string;
  required?: boolean;
}

interface Success {
  description: string;
  /** a JSON body's schema; or, without one, the media types sent (HTML, JavaScript, CSS) */
  schema?: ZodType;
  media?: string[];
  headers?: Header[];
}

export interface Operation {
  method: 'get' | 'post' | 'patch';
  path: string;
  /** the serverless.yml function */
  fn: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  params?: ('product_id' | 'order_id' | 'asset')[];
  query?: ZodType;
  headers?: Header[];
  body?: ZodType;
  ok: Record<number, Success>;
  /** problems this route answers beyond those its auth, body and query imply */
  problems?: ProblemCode[];
}

const PATH_PARAMS = {
  product_id: {
    name: 'id',
    description: 'product id; anything that is not a positive integer is answered 404',
    schema: { type: 'integer', minimum: 1, maximum: 0xffff_ffff },
  },
  order_id: {
    name: 'order_id',
    description: 'order id (UUID); anything else is answered 404',
    schema: { type: 'string', format: 'uuid' },
  },
  asset: {
    name: 'asset',
    description: 'a file of the docs UI',
    schema: { type: 'string', enum: ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js'] },
  },
} as const;

const RETRY_AFTER: Header = {
  name: 'Retry-After',
  schema: z.string(),
  description: 'seconds to wait before retrying',
};
const html = (description: string): Success => ({ description, media: ['text/html'] });

/** Every route of serverless.yml (httpApi), in the order of API.md. */
export const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/api/products/{id}',
    fn: 'getProduct',
    tag: 'Public',
    summary: 'One product, with live availability',
    auth: 'public',
    params: ['product_id'],
    ok: { 200: { description: 'the product', schema: ProductView } },
    problems: ['product-not-found', 'unavailable'],
  },
  {
    method: 'get',
    path: '/api/products',
    fn: 'listProducts',
    tag: 'Public',
    summary: 'Every product, with live availability',
    auth: 'public',
    ok: { 200: { description: 'all products', schema: ProductList } },
  },
  {
    method: 'post',
    path: '/api/orders',
    fn: 'createOrder',
    tag: 'Buyer',
    summary: 'Reserve units',
    description:
      'One atomic reservation; the order is persisted asynchronously. A replay of the same ' +
      '`Idempotency-Key` with the same body returns the original order view.',
    auth: 'buyer',
    headers: [
      {
        name: 'Idempotency-Key',
        schema: IdempotencyKey,
        description: 'scoped to the customer and the product, kept at least 24 hours',
      },
    ],
    body: CreateOrderBody,
    ok: {
      202: {
        description: 'reserved (or the replay of a reservation)',
        schema: OrderView,
        headers: [
          { name: 'Location', schema: z.string(), description: '/api/orders/{order_id}', required: true },
          {
            name: 'Idempotent-Replayed',
            schema: z.literal('true'),
            description: 'present on a replay of the same Idempotency-Key',
          },
        ],
      },
    },
    problems: [
      'qty-above-limit',
      'idempotency-key-reused',
      'product-not-found',
      'sale-not-started',
      'sale-paused',
      'sale-ended',
      'customer-limit-reached',
      'insufficient-stock',
      'unavailable',
    ],
  },
  {
    method: 'get',
    path: '/api/orders',
    fn: 'listOrders',
    tag: 'Buyer',
    summary: "The caller's own orders, newest first",
    auth: 'buyer',
    query: ListOrdersQuery,
    ok: { 200: { description: 'one page', schema: OrderList } },
  },
  {
    method: 'get',
    path: '/api/orders/{order_id}',
    fn: 'getOrder',
    tag: 'Buyer',
    summary: 'One order (its owner or an admin), also before it reaches PostgreSQL',
    auth: 'buyer',
    params: ['order_id'],
    ok: { 200: { description: 'the order', schema: OrderView } },
    problems: ['order-not-found'],
  },
  {
    method: 'post',
    path: '/api/orders/{order_id}/cancel',
    fn: 'cancelOrder',
    tag: 'Buyer',
    summary: 'Cancel a reserved order (its owner)',
    auth: 'buyer',
    params: ['order_id'],
    ok: {
      200: { description: 'cancelled; units released exactly once', schema: OrderView },
      202: {
        description: 'accepted but not yet in PostgreSQL: `cancel_pending: true`, applied once it is',
        schema: OrderView,
      },
    },
    problems: ['order-not-found', 'order-not-cancellable'],
  },
  {
    method: 'post',
    path: '/api/payments/webhook',
    fn: 'paymentWebhook',
    tag: 'Payment provider',
    summary: 'Payment events, signed per Standard Webhooks',
    description:
      'HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{raw body}` with `WEBHOOK_SECRET`; ' +
      'timestamps more than 5 minutes off are rejected. The event identity is `webhook-id`. ' +
      'Bodies above 64 KiB are refused before verification (413); a source whose requests keep ' +
      'failing verification is rate limited (429), verified events never are.',
    auth: 'public',
    headers: [
      { name: 'webhook-id', schema: z.string().min(1).max(255), description: 'event id', required: true },
      { name: 'webhook-timestamp', schema: z.string(), description: 'unix seconds', required: true },
      {
        name: 'webhook-signature',
        schema: z.string(),
        description: 'space-separated `v1,<base64 signature>` list',
        required: true,
      },
    ],
    body: PaymentWebhookBody,
    ok: {
      200: {
        description: '`applied`, `duplicate` or `ignored` (with a `reason`)',
        schema: PaymentResultView,
      },
      202: { description: '`pending`: the order is not (yet) in PostgreSQL', schema: PaymentResultView },
    },
    // 413 before verification; 429 only after repeated failed verifications from one source;
    // 503 while the order's product is rebuilt after a data loss.
    problems: ['payload-too-large', 'invalid-signature', 'rate-limited', 'unavailable'],
  },
  {
    method: 'post',
    path: '/api/admin/products',
    fn: 'adminCreateProduct',
    tag: 'Admin',
    summary: 'Create a product and its sale settings',
    auth: 'admin',
    body: CreateProductBody,
    ok: {
      201: {
        description: 'created',
        schema: ProductView,
        headers: [
          { name: 'Location', schema: z.string(), description: '/api/products/{id}', required: true },
        ],
      },
    },
    problems: ['sku-taken'],
  },
  {
    method: 'patch',
    path: '/api/admin/products/{id}',
    fn: 'adminUpdateProduct',
    tag: 'Admin',
    summary: 'Change the sale window, limits, `paused`, or stock (`stock_delta`, atomic)',
    auth: 'admin',
    params: ['product_id'],
    body: UpdateProductBody,
    ok: { 200: { description: 'updated', schema: ProductView } },
    problems: ['product-not-found', 'stock-would-go-negative', 'unavailable'],
  },
  {
    method: 'get',
    path: '/api/admin/products/{id}/audit',
    fn: 'adminAudit',
    tag: 'Admin',
    summary: 'Stock invariant report, in units',
    auth: 'admin',
    params: ['product_id'],
    ok: { 200: { description: 'the report', schema: AuditReportView } },
    problems: ['product-not-found'],
  },
  {
    method: 'get',
    path: '/api/admin/stats',
    fn: 'adminStats',
    tag: 'Operations',
    summary: 'Live per-product figures for the dashboard',
    description:
      'Per product: the audit report, orders per second (orders created in the last `window_s` ' +
      'seconds, persisted or still in flight), the Redis outbox; the orders queue and DLQ depth.',
    auth: 'admin',
    query: StatsQuery,
    ok: { 200: { description: 'the figures', schema: StatsView } },
  },
  {
    method: 'get',
    path: '/healthz',
    fn: 'healthz',
    tag: 'Operations',
    summary: 'Liveness',
    auth: 'public',
    ok: { 200: { description: 'the function answers', schema: HealthView } },
  },
  {
    method: 'get',
    path: '/readyz',
    fn: 'readyz',
    tag: 'Operations',
    summary: 'Readiness: Redis, PostgreSQL and the orders queue answer',
    auth: 'public',
    ok: {
      200: { description: 'ready', schema: ReadyView },
      503: {
        description: 'a dependency is down (named in `down`)',
        schema: ReadyView,
        headers: [RETRY_AFTER],
      },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    fn: 'openapi',
    tag: 'Operations',
    summary: 'This document',
    auth: 'public',
    ok: { 200: { description: 'OpenAPI 3.1', media: ['application/json'] } },
  },
  {
    method: 'get',
    path: '/docs',
    fn: 'docs',
    tag: 'Operations',
    summary: 'Browsable UI for this document (Swagger UI)',
    auth: 'public',
    ok: { 200: html('the UI page') },
  },
  {
    method: 'get',
    path: '/docs/{asset}',
    fn: 'docs',
    tag: 'Operations',
    summary: 'A file of the docs UI, served by the function itself',
    auth: 'public',
    params: ['asset'],
    ok: { 200: { description: 'the file', media: ['text/javascript', 'text/css'] } },
    problems: ['not-found'],
  },
  {
    method: 'get',
    path: '/',
    fn: 'dashboard',
    tag: 'Operations',
    summary: 'Live dashboard page (asks for an admin token, polls /api/admin/stats)',
    auth: 'public',
    ok: { 200: html('the dashboard page') },
  },
];

/** The problems a route answers: its own, plus those implied by its auth, body and query. */
export function problemsOf(op: Operation): ProblemCode[] {
  const codes = new Set<ProblemCode>(op.problems ?? []);
  if (op.body || op.query) codes.add('invalid-request');
  if (op.auth !== 'public') codes.add('unauthorized');
  if (op.auth === 'admin') codes.add('forbidden');
  if (op.auth === 'buyer') codes.add('rate-limited');
  codes.add('internal');
  return [...codes].sort((a, b) => CATALOGUE[a].status - CATALOGUE[b].status || a.localeCompare(b));
}

const REF = (id: string) => `#/components/schemas/${id}`;

/** Shared schemas, each once under components.schemas. */
const COMPONENTS: Record<string, ZodType> = {
  CreateOrderBody,
  CreateProductBody,
  UpdateProductBody,
  PaymentWebhookBody,
  ProductView,
  ProductList,
  OrderView,
  OrderList,
  AuditReportView,
  PaymentResultView,
  HealthView,
  ReadyView,
  StatsView,
  Problem: ProblemView,
};

/** What zod refinements check, said in JSON Schema (refinements themselves are not exported). */
const REFINEMENTS: Record<string, JsonSchema> = {
  CreateProductBody: { description: '`sale_ends_at`, when both are set, must be after `sale_starts_at`' },
  UpdateProductBody: {
    minProperties: 1,
    description: 'at least one field; `sale_ends_at` must stay after `sale_starts_at`',
  },
};

let built: JsonSchema | undefined;

/** The document, built once per container. */
export function openApiDocument(): JsonSchema {
  built ??= build();
  return built;
}

function build(): JsonSchema {
  const registry = z.registry<{ id: string }>();
  const names = new Map<ZodType, string>();
  for (const [id, schema] of Object.entries(COMPONENTS)) {
    registry.add(schema, { id });
    names.set(schema, id);
  }
  // io 'input': what a client may send (defaults make fields optional); views have no transforms,
  // and their objects stay open (API.md: fields may be added, never renamed or dropped).
  const { schemas } = z.toJSONSchema(registry, { io: 'input', unrepresentable: 'any', uri: REF });
  const components = Object.fromEntries(
    Object.entries(schemas).map(([id, s]) => [id, { ...bare(s), ...REFINEMENTS[id] }]),
  );
  const ref = (schema: ZodType): JsonSchema => {
    const id = names.get(schema);
    return id ? { $ref: REF(id) } : inline(schema);
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    paths[op.path]![op.method] = operation(op, ref);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'flash-sale',
      version: '1',
      description:
        'Serverless flash-sale backend. Errors are RFC 9457 `application/problem+json`; `type` ends ' +
        'in the error code. Money is integer minor units plus an ISO 4217 `currency`; times are ' +
        'RFC 3339 UTC. Any other path answers 404 `not-found`.',
    },
    servers: [{ url: '/' }],
    tags: ['Public', 'Buyer', 'Payment provider', 'Admin', 'Operations'].map((name) => ({ name })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'HS256 JWT signed with `AUTH_JWT_SECRET`; `sub` is the customer id. Admin routes need ' +
            'the claim `role: "admin"` (listed as the required role in each operation).',
        },
      },
    },
    'x-problem-codes': Object.fromEntries(
      Object.entries(CATALOGUE).map(([code, c]) => [code, { ...c, type: PROBLEM_BASE + code }]),
    ),
  };
}

function operation(op: Operation, ref: (s: ZodType) => JsonSchema): JsonSchema {
  const parameters = [
    ...(op.params ?? []).map((p) => ({ in: 'path', required: true, ...PATH_PARAMS[p] })),
    ...queryParameters(op.query),
    ...(op.headers ?? []).map((h) => ({
      in: 'header',
      name: h.name,
      required: h.required ?? false,
      description: h.description,
      schema: inline(h.schema),
    })),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, s] of Object.entries(op.ok)) {
    responses[status] = {
      description: s.description,
      ...(s.headers ? { headers: headerObjects(s.headers) } : {}),
      content: s.schema
        ? { 'application/json': { schema: ref(s.schema) } }
        : Object.fromEntries((s.media ?? ['application/json']).map((m) => [m, {}])),
    };
  }
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of problemsOf(op)) {
    const status = CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of byStatus) {
    responses[String(status)] = problemResponse(status, codes);
  }
  return {
    operationId: op.fn + (op.params?.includes('asset') ? 'Asset' : ''),
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: op.auth === 'public' ? [] : [{ bearer: op.auth === 'admin' ? ['admin'] : [] }],
    ...(op.auth === 'admin' ? { 'x-required-role': 'admin' } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } }
      : {}),
    responses,
  };
}

/** Fields some problems add (API.md), shown in their examples. */
const PROBLEM_EXTRAS: Partial<Record<ProblemCode, JsonSchema>> = {
  'invalid-request': { errors: [{ field: 'qty', message: 'Too small: expected number to be >=1' }] },
  'insufficient-stock': { available: 0 },
  'customer-limit-reached': { remaining: 1 },
  'qty-above-limit': { max_per_order: 10 },
  'sale-not-started': { starts_at: '2030-01-01T00:00:00.000Z' },
  'order-not-cancellable': { order_status: 'paid' },
  'stock-would-go-negative': { available: 3 },
};

const WWW_AUTHENTICATE: Header = {
  name: 'WWW-Authenticate',
  schema: z.literal('Bearer'),
  description: 'the scheme to authenticate with',
};

function problemResponse(status: number, codes: ProblemCode[]): JsonSchema {
  const types = codes.map((c) => PROBLEM_BASE + c);
  const headers = [
    ...(codes.includes('rate-limited') || codes.includes('unavailable') ? [RETRY_AFTER] : []),
    ...(codes.includes('unauthorized') ? [WWW_AUTHENTICATE] : []),
  ];
  return {
    description: codes.map((c) => `\`${c}\`: ${CATALOGUE[c].title}`).join('; '),
    ...(headers.length ? { headers: headerObjects(headers) } : {}),
    content: {
      'application/problem+json': {
        schema: {
          allOf: [{ $ref: REF('Problem') }, { properties: { type: { enum: types } } }],
        },
        examples: Object.fromEntries(
          codes.map((c) => [
            c,
            {
              summary: CATALOGUE[c].title,
              value: {
                type: PROBLEM_BASE + c,
                title: CATALOGUE[c].title,
                status,
                detail: '…',
                ...PROBLEM_EXTRAS[c],
              },
            },
          ]),
        ),
      },
    },
    'x-problem-codes': codes,
  };
}

function headerObjects(headers: Header[]): Record<string, unknown> {
  return Object.fromEntries(
    headers.map((h) => [
      h.name,
      { description: h.description, required: h.required ?? false, schema: inline(h.schema) },
    ]),
  );
}

function queryParameters(query: ZodType | undefined): JsonSchema[] {
  if (!query) return [];
  const s = inline(query) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, schema]) => ({
    in: 'query',
    name,
    required: (s.required ?? []).includes(name),
    schema,
  }));
}

function inline(schema: ZodType): JsonSchema {
  return bare(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema);
}

/** OpenAPI 3.1 schema objects carry neither a dialect nor an id of their own. */
function bare(s: unknown): JsonSchema {
  const { $schema: _d, $id: _i, ...rest } = s as JsonSchema;
  return rest;
}
