// The OpenAPI 3.1 document of the whole API (GET /openapi.json), built from the route declarations
// (routes/: the same objects the handlers take their auth, body and query schemas from), the
// response views (view-schemas.ts) and the error catalogue (problems.ts). tests/unit/routes.test.ts
// checks the declarations against serverless.yml; tests/e2e/openapi.test.ts checks the document.
import { z } from 'zod';
import type { $ZodType as ZodType } from 'zod/v4/core';
import { CATALOGUE, PROBLEM_BASE, type ProblemCode } from './problems';
import { type Header, RETRY_AFTER, type RouteDeclaration } from './routes/declare';
import { ROUTE_LIST } from './routes/index';
import { CreateOrderBody, CreateProductBody, PaymentWebhookBody, UpdateProductBody } from './schemas';
import {
  AuditReportView,
  HealthView,
  OrderList,
  OrderView,
  PaymentResultView,
  ProblemView,
  ProductAuditView,
  ProductList,
  ProductView,
  ReadyView,
  StatsView,
} from './view-schemas';

type JsonSchema = Record<string, unknown>;

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

/** The problems a route answers: its own, plus those implied by its auth, body and query. */
export function problemsOf(op: RouteDeclaration): ProblemCode[] {
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
  ProductAuditView,
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
  for (const op of ROUTE_LIST) {
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

function operation(op: RouteDeclaration, ref: (s: ZodType) => JsonSchema): JsonSchema {
  const parameters = parametersOf(op);
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
    responses: responsesOf(op, ref),
  };
}

function parametersOf(op: RouteDeclaration): JsonSchema[] {
  return [
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
}

/** The operation's answers: its successes, then its problems grouped by status. */
function responsesOf(op: RouteDeclaration, ref: (s: ZodType) => JsonSchema): Record<string, unknown> {
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
  return responses;
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
