// What a route is, declared once (each a plain object `satisfies RouteDeclaration`, so it keeps its
// own schema types and a bundle keeps only the declarations it uses): method, path, serverless.yml function, auth, request and response
// schemas, summary and problem codes. The handler takes its options from the declaration (route()),
// the OpenAPI document is built from it (lib/http/openapi.ts), and tests/unit/routes.test.ts checks
// it against serverless.yml. No I/O here or in the declaration modules: the `openapi` function's
// bundle imports them without any client.
import { z } from 'zod';
import type { $ZodType as ZodType } from 'zod/v4/core';
import type { ProblemCode } from '../problems';

export type Auth = 'public' | 'buyer' | 'admin';

export interface Header {
  name: string;
  schema: ZodType;
  description: string;
  required?: boolean;
}

export interface Success {
  description: string;
  /** a JSON body's schema; or, without one, the media types sent (HTML, JavaScript, CSS) */
  schema?: ZodType;
  media?: string[];
  headers?: Header[];
}

export interface RouteDeclaration {
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
  /**
   * The handler parses the body itself, after verifying the request's signature (the webhook):
   * route() leaves it alone, the document still describes it.
   */
  body_parsed_by_handler?: true;
  ok: Record<number, Success>;
  /** problems this route answers beyond those its auth, body and query imply */
  problems?: ProblemCode[];
}

export const RETRY_AFTER: Header = {
  name: 'Retry-After',
  schema: z.string(),
  description: 'seconds to wait before retrying',
};

export const html = (description: string): Success => ({ description, media: ['text/html'] });
