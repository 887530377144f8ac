// One typed wrapper per script in lua/: named keys and named arguments in, a parsed reply out. The
// names and their order are the script's header (KEYS[n] name: / ARGV[n] name:), checked by
// tests/unit/lua-headers.test.ts, so a header and its wrapper cannot drift apart. Each script is
// loaded once per container and registered with ioredis defineCommand (EVALSHA, with a transparent
// EVAL fallback when the server has not seen the script yet).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';
// zod/mini: the same core, and the request path's bundles carry no classic zod (README, "Cold starts")
import * as z from 'zod/mini';

type Arg = string | number;

export interface ScriptSpec<K extends string, A extends string, R> {
  file: string;
  /** KEYS[1..n], in order */
  keys: readonly K[];
  /** ARGV[1..n], in order */
  args: readonly A[];
  /** the name of a variadic tail (ARGV[n+1..]), when the script takes one */
  rest?: string;
  /** the reply's shape: every reply is parsed, so an unknown code fails loudly here */
  reply: z.ZodMiniType<R>;
}

const script = <const K extends string, const A extends string, R>(s: ScriptSpec<K, A, R>) => s;

const int = z.number().check(z.int());
const ORDER_ARGS = ['order_id', 'qty', 'customer_id'] as const;

export const SCRIPTS = {
  reserve: script({
    file: 'reserve.lua',
    keys: ['sale', 'customers', 'order', 'outbox', 'idempotency'],
    args: [
      'order_id',
      'customer_id',
      'qty',
      'fingerprint',
      'idempotency_ttl_s',
      'has_idempotency_key',
      'product_id',
      'idempotency_key',
      'sent_ms',
      'resend_window_ms',
    ],
    reply: z.union([
      z.tuple([z.enum(['reserved', 'replay']), z.string()]),
      z.tuple([
        z.enum(['qty_above_limit', 'sale_not_started', 'customer_limit_reached', 'insufficient_stock']),
        int,
      ]),
      z.tuple([
        z.enum([
          'stale',
          'idempotency_key_reused',
          'product_not_found',
          'rebuilding',
          'sale_paused',
          'sale_ended',
        ]),
      ]),
    ]),
  }),
  ack: script({
    file: 'ack.lua',
    keys: ['sale', 'outbox', 'order'],
    args: ['order_id', 'qty', 'record_ttl_s', 'tombstone_ttl_s', 'sequenced'],
    reply: z.tuple([z.literal([0, 1]), z.literal([0, 1])]),
  }),
  release: script({
    file: 'release.lua',
    keys: ['sale', 'customers', 'released'],
    args: [],
    rest: 'orders',
    // one result per order (1 given back now, 0 already), or -1 for the whole batch (incomplete product)
    reply: z.union([z.literal(-1), z.array(z.literal([1, 0]))]),
  }),
  retake: script({
    file: 'retake.lua',
    keys: ['sale', 'customers', 'released', 'retaking'],
    args: [...ORDER_ARGS, 'released_in_pg'],
    reply: z.enum(['held', 'retaken', 'insufficient', 'over_limit', 'unavailable', 'forgotten']),
  }),
  undoRetake: script({
    file: 'undo-retake.lua',
    keys: ['sale', 'customers', 'released', 'retaking'],
    args: ORDER_ARGS,
    reply: z.enum(['undone', 'nothing', 'unavailable']),
  }),
  loadProduct: script({
    file: 'load-product.lua',
    keys: ['sale'],
    args: ['product_id', 'mode'],
    rest: 'settings',
    reply: z.enum(['created', 'updated', 'exists', 'missing', 'stale']),
  }),
  cancelPending: script({
    file: 'cancel-pending.lua',
    keys: ['outbox', 'order'],
    args: ['order_id', 'customer_id'],
    reply: z.union([
      z.tuple([z.literal('flagged'), z.string()]),
      z.tuple([z.enum(['persisted', 'not_found'])]),
    ]),
  }),
  adjustStock: script({
    file: 'adjust-stock.lua',
    keys: ['sale', 'adjusted'],
    args: ['delta', 'adjustment_id', 'mode'],
    reply: z.union([
      z.tuple([z.enum(['ok', 'already']), int, int]),
      z.tuple([z.literal('negative'), int]),
      z.tuple([z.literal('missing')]),
    ]),
  }),
  rebuild: script({
    file: 'rebuild.lua',
    keys: ['sale', 'customers', 'customers_staged', 'outbox', 'rebuild_lock', 'reconciled'],
    args: ['token', 'available', 'generation', 'stock_total'],
    reply: z.union([z.tuple([z.literal('ok'), int]), z.tuple([z.enum(['not_owner', 'outbox_not_empty'])])]),
  }),
  rebuildStage: script({
    file: 'rebuild-stage.lua',
    keys: ['rebuild_lock', 'target'],
    args: ['token', 'reset'],
    rest: 'field_value_pairs',
    reply: z.literal([0, 1]),
  }),
  stageReplay: script({
    file: 'stage-replay.lua',
    keys: ['rebuild_lock', 'idempotency', 'order'],
    args: ['token', 'replay', 'idempotency_ttl_s', 'order_json', 'order_ttl_s'],
    reply: z.literal([0, 1]),
  }),
  claimReplay: script({
    file: 'claim-replay.lua',
    keys: ['sale', 'idempotency', 'order'],
    args: ['replay', 'idempotency_ttl_s', 'order_json', 'order_ttl_s', 'take_over'],
    reply: z.union([
      z.tuple([z.enum(['claimed', 'unavailable'])]),
      z.tuple([z.literal('other'), z.string()]),
    ]),
  }),
  reconcile: script({
    file: 'reconcile.lua',
    keys: ['sale', 'customers', 'reconciled'],
    args: [...ORDER_ARGS, 'generation'],
    reply: z.union([
      z.tuple([z.enum(['taken', 'already']), int, int]),
      z.tuple([z.enum(['unavailable', 'stale'])]),
    ]),
  }),
  unlockRebuild: script({
    file: 'unlock-rebuild.lua',
    keys: ['rebuild_lock'],
    args: ['token'],
    reply: z.literal([0, 1]),
  }),
  closeIfBehind: script({
    file: 'close-if-behind.lua',
    keys: ['sale'],
    args: ['generation', 'max_seq', 'duplicated'],
    reply: z.enum(['closed', 'consistent', 'not_open', 'other_generation']),
  }),
  closeIfForgotten: script({
    file: 'close-if-forgotten.lua',
    keys: ['sale', 'released', 'adjusted', 'reconciled'],
    args: ['generation', 'released_count', 'retaken_count', 'reconciled_count'],
    rest: 'released_retaken_reconciled_adjusted',
    reply: z.enum(['closed', 'consistent', 'not_open', 'other_generation']),
  }),
};

type ScriptName = keyof typeof SCRIPTS;

/** What a wrapper takes: every key and every argument by its header name. */
export type ScriptInput<K extends string, A extends string> = {
  keys: Record<K, string>;
  args: Record<A, Arg>;
  rest?: Arg[];
};

type Wrapper<S> =
  S extends ScriptSpec<infer K, infer A, infer R> ? (input: ScriptInput<K, A>) => Promise<R> : never;

export type Scripts = { [N in ScriptName]: Wrapper<(typeof SCRIPTS)[N]> };

/** The parsed reply of one script. */
export type ScriptReply<N extends ScriptName> = Awaited<ReturnType<Scripts[N]>>;

/** A Redis client with every script registered, and its typed wrappers under `lua`. */
export type ScriptClient = (Redis | Cluster) & { lua: Scripts };

export function luaDir(): string {
  // Source tree (tsx, vitest), the bundled Lambda (lua/ is packaged at the task root), offline (cwd).
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, '../../lua'),
    join(process.env['LAMBDA_TASK_ROOT'] ?? process.cwd(), 'lua'),
    join(process.cwd(), 'lua'),
  ];
  const found = candidates.find((d) => existsSync(join(d, 'reserve.lua')));
  if (!found) throw new Error(`lua scripts not found in ${candidates.join(', ')}`);
  return found;
}

export function registerScripts(client: Redis | Cluster): ScriptClient {
  const dir = luaDir();
  const lua: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SCRIPTS) as [ScriptName, ScriptSpec<string, string, unknown>][]) {
    client.defineCommand(name, {
      numberOfKeys: spec.keys.length,
      lua: readFileSync(join(dir, spec.file), 'utf8'),
    });
    lua[name] = wrapper(client, name, spec);
  }
  return Object.assign(client, { lua: lua as Scripts });
}

function wrapper(client: Redis | Cluster, name: ScriptName, spec: ScriptSpec<string, string, unknown>) {
  // defineCommand adds the command as a method ioredis's types cannot know: looked up once, here.
  const command = (client as unknown as Record<ScriptName, (...argv: (Arg | Arg[])[]) => Promise<unknown>>)[
    name
  ].bind(client);
  return async (input: ScriptInput<string, string>) => {
    const argv: (Arg | Arg[])[] = [];
    for (const k of spec.keys) argv.push(input.keys[k]!);
    for (const a of spec.args) argv.push(input.args[a]!);
    // The variadic tail as one array, never spread: ioredis flattens it (Command: args.flat()), while
    // a spread passes every element on the call stack, and a rebuild's tail (every expired order of
    // a big sale, every customer) of ~120,000 and more threw RangeError: the release run failed
    // every minute and the product stayed closed (review 41).
    if (input.rest) argv.push(input.rest);
    return spec.reply.parse(await command(...argv));
  };
}
