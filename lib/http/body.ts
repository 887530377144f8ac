// JSON body parsing and zod validation: every failure is a 400 naming the offending field.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { safeParse } from 'zod/mini';
import type { $ZodType } from 'zod/v4/core';
import '../zod-locale';
import { Problem } from './problems';
import { rawBody } from './raw-body';

/** Bodies on this API are a few fields; anything larger is refused before parsing. */
export const BODY_BYTES_MAX = 4096;

export function parseJsonBody<B>(event: APIGatewayProxyEventV2, schema: $ZodType<B>): B {
  return parseJsonText(rawBody(event), schema);
}

export function parseJsonText<B>(text: string, schema: $ZodType<B>, bytes_max = BODY_BYTES_MAX): B {
  if (Buffer.byteLength(text, 'utf8') > bytes_max) {
    throw invalid(`body too large: at most ${bytes_max} bytes`, [{ field: '(body)', message: 'too large' }]);
  }
  if (text.trim() === '') throw invalid('body is required', [{ field: '(body)', message: 'required' }]);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw invalid('malformed JSON body', [{ field: '(body)', message: 'malformed JSON' }]);
  }
  const parsed = safeParse(schema, data);
  if (parsed.success) return parsed.data;
  const errors = tightestBounds(parsed.error.issues).map((i) => ({
    field: fieldName(i.path, (i as { keys?: string[] }).keys),
    message: i.message,
  }));
  throw invalid(errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}

/** Query strings are validated like bodies: a 400 naming the parameter. */
export function parseQuery<Q>(event: APIGatewayProxyEventV2, schema: $ZodType<Q>): Q {
  const parsed = safeParse(schema, event.queryStringParameters ?? {});
  if (parsed.success) return parsed.data;
  const errors = tightestBounds(parsed.error.issues).map((i) => ({
    field: fieldName(i.path, (i as { keys?: string[] }).keys).replace('(body)', '(query)'),
    message: i.message,
  }));
  throw invalid(errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}

type Issue = { code: string; path: PropertyKey[]; maximum?: unknown; minimum?: unknown };

/**
 * One bound per field and side: a number past both zod's safe-integer bound (`z.int()`) and the
 * schema's own maximum would otherwise be named twice, the first time with 9007199254740991.
 */
export function tightestBounds<I extends Issue>(issues: readonly I[]): I[] {
  const isBound = (i: I) => i.code === 'too_big' || i.code === 'too_small';
  const key = (i: I) => `${i.code} ${i.path.map(String).join('.')}`;
  const limit = (i: I) => Number(i.code === 'too_big' ? i.maximum : i.minimum);
  const tighter = (a: I, b: I) => (a.code === 'too_big' ? limit(a) < limit(b) : limit(a) > limit(b));
  const kept = new Map<string, I>();
  for (const i of issues.filter(isBound)) {
    const seen = kept.get(key(i));
    if (seen === undefined || tighter(i, seen)) kept.set(key(i), i);
  }
  return issues.filter((i) => !isBound(i) || kept.get(key(i)) === i);
}

function fieldName(path: PropertyKey[], keys?: string[]): string {
  // zod reports unknown keys on the parent object; name the unknown key itself.
  const base = path.map(String).join('.');
  if (keys && keys.length > 0) return keys.map((k) => (base ? `${base}.${k}` : k)).join(',');
  return base || '(body)';
}

function invalid(detail: string, errors: { field: string; message: string }[]): Problem {
  return new Problem('invalid-request', detail, { errors });
}
