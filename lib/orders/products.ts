// Products in PostgreSQL: the durable record of what is on sale (Redis holds the live copy).
import { IDEMPOTENCY_TTL_S } from '../inventory/records';
import type {
  IdempotentRequest,
  ProductSettingsPatch,
  ProductStore,
  ProductUpdate,
  StockAdjustment,
} from '../sale/ports';
import type { Product } from '../sale/types';
import { type Sql, scopeFilter, type Tx } from './db';
import { UNLOADED_PRODUCT_GRACE_S } from './rebuild-source';
import { type ProductRow, productFromRow } from './rows';

/** A create's retry finishes it only well inside the window no rebuild loads it in (a 10 s margin). */
const RETRY_FINISHES_WITHIN_S = UNLOADED_PRODUCT_GRACE_S - 10;

export function pgProducts(sql: Sql): ProductStore & { list(): Promise<Product[]> } {
  return {
    async create(p) {
      const [row] = await sql<ProductRow[]>`
        INSERT INTO products (sku, name, price_cents, currency, stock_total, max_per_order,
          per_customer_limit, reservation_ttl_s, sale_starts_at, sale_ends_at, paused)
        VALUES (${p.sku}, ${p.name}, ${p.price_cents}, ${p.currency}, ${p.stock_total}, ${p.max_per_order},
          ${p.per_customer_limit}, ${p.reservation_ttl_s}, ${p.sale_starts_at}, ${p.sale_ends_at}, ${p.paused})
        ON CONFLICT (sku) DO NOTHING
        RETURNING *`;
      if (row) return productFromRow(row);
      // The client's retry of a create that PostgreSQL took but that never answered (Redis failed,
      // 503 "retry"): the same product, not yet loaded, young enough that no rebuild loads it
      // (rebuild-source.ts). Handed back so the retry finishes it; anything else is a duplicate.
      const [unfinished] = await sql<ProductRow[]>`
        SELECT * FROM products WHERE sku = ${p.sku} AND loaded_at IS NULL
          AND created_at > now() - make_interval(secs => ${RETRY_FINISHES_WITHIN_S})`;
      if (unfinished && sameProduct(productFromRow(unfinished), p)) return productFromRow(unfinished);
      throw new SkuTakenError(p.sku);
    },
    async markLoaded(id) {
      await sql`UPDATE products SET loaded_at = now() WHERE id = ${id} AND loaded_at IS NULL`;
    },
    async get(id) {
      const [row] = await sql<ProductRow[]>`SELECT * FROM products WHERE id = ${id}`;
      return row ? productFromRow(row) : null;
    },
    async update(id, settings, stock, idempotency = null) {
      // Only the fields given: a concurrent PATCH of other fields is never reverted.
      const given = {
        ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
        updated_at: new Date(),
      };
      try {
        return await updateRow(sql, id, given, stock, idempotency);
      } catch (err) {
        // The window is judged again on the row as the UPDATE finds it: a concurrent PATCH of its
        // other end may have moved it since the domain's check. The table's CHECK decides.
        if (isCheckViolation(err, 'products_check')) return 'window_invalid';
        throw err;
      }
    },
    settleAdjustment: (a, outcome) => settleAdjustment(sql, a, outcome),
    async pendingAdjustments(older_than_s, limit, scope = null) {
      const rows = await sql<{ id: string; product_id: string; delta: number; withdrawn: boolean }[]>`
        SELECT id, product_id, delta, withdrawn_at IS NOT NULL AS withdrawn FROM stock_adjustments
        WHERE applied_at IS NULL AND refused_at IS NULL
          AND (created_at < now() - make_interval(secs => ${older_than_s}) OR withdrawn_at IS NOT NULL)
          ${scopeFilter(sql, 'product_id', scope)}
        ORDER BY id LIMIT ${limit}`;
      return rows.map((r) => ({
        id: Number(r.id),
        product_id: Number(r.product_id),
        delta: r.delta,
        withdrawn: r.withdrawn,
      }));
    },
    async withdrawAdjustment(a) {
      await sql`UPDATE stock_adjustments SET withdrawn_at = now()
        WHERE id = ${a.id} AND applied_at IS NULL AND refused_at IS NULL`;
    },
    async revertSettings(id, previous, version) {
      if (Object.keys(previous).length === 0) return null;
      const [row] = await sql<ProductRow[]>`
        UPDATE products SET ${sql({ ...previous, updated_at: new Date() })},
          settings_version = settings_version + 1
        WHERE id = ${id} AND settings_version = ${version} RETURNING *`;
      return row ? productFromRow(row) : null;
    },
    async list() {
      return (await sql<ProductRow[]>`SELECT * FROM products ORDER BY id`).map(productFromRow);
    },
  };
}

/** Conditional on still pending: a rebuild that decided it first wins, and its fate is returned. */
async function settleAdjustment(
  sql: Sql,
  a: StockAdjustment,
  outcome: 'applied' | 'refused',
): Promise<'applied' | 'refused'> {
  return sql.begin(async (tx) => {
    const column = outcome === 'applied' ? 'applied_at' : 'refused_at';
    const [won] = await tx<{ id: string }[]>`
      UPDATE stock_adjustments SET ${tx(column)} = now()
      WHERE id = ${a.id} AND applied_at IS NULL AND refused_at IS NULL RETURNING id`;
    if (won && outcome === 'refused') {
      await tx`UPDATE products SET stock_total = stock_total - ${a.delta} WHERE id = ${a.product_id}`;
    }
    if (won) return outcome;
    const [row] = await tx<{ applied: boolean }[]>`
      SELECT applied_at IS NOT NULL AS applied FROM stock_adjustments WHERE id = ${a.id}`;
    return row?.applied ? 'applied' : 'refused';
  });
}

/** Every field a create gives, as stored (times by instant). */
function sameProduct(stored: Product, p: Omit<Product, 'id'>): boolean {
  const time = (d: Date | null) => (d === null ? null : d.getTime());
  return (
    stored.name === p.name &&
    stored.price_cents === p.price_cents &&
    stored.currency === p.currency &&
    stored.stock_total === p.stock_total &&
    stored.max_per_order === p.max_per_order &&
    stored.per_customer_limit === p.per_customer_limit &&
    stored.reservation_ttl_s === p.reservation_ttl_s &&
    time(stored.sale_starts_at) === time(p.sale_starts_at) &&
    time(stored.sale_ends_at) === time(p.sale_ends_at) &&
    stored.paused === p.paused
  );
}

export class SkuTakenError extends Error {
  readonly code = 'sku_taken';
  constructor(readonly sku: string) {
    super(`sku already exists: ${sku}`);
  }
}

/**
 * The UPDATE and, for a stock change, its pending adjustment, in one transaction; under an
 * Idempotency-Key already used, that key's adjustment instead (nothing written).
 */
function updateRow(
  sql: Sql,
  id: number,
  given: Record<string, unknown>,
  stock: { delta: number; total_max: number },
  idempotency: IdempotentRequest | null,
): Promise<ProductUpdate | null> {
  return sql.begin(async (tx) => {
    if (!idempotency) return writeRow(tx, id, given, stock, null, null);
    // Locked first, so a concurrent request with the same key waits for this one's commit; the
    // write below reads the settings it replaces from this same locked row.
    const locked = await lockedRow(tx, id);
    if (!locked) return null;
    const earlier = await keyedAdjustment(tx, locked, idempotency);
    return earlier ?? writeRow(tx, id, given, stock, idempotency, locked);
  });
}

/** The UPDATE and its pending adjustment, in the caller's transaction. */
async function writeRow(
  tx: Tx,
  id: number,
  given: Record<string, unknown>,
  stock: { delta: number; total_max: number },
  idempotency: IdempotentRequest | null,
  locked: ProductRow | null,
): Promise<ProductUpdate | null> {
  const stock_delta = stock.delta;
  // With a stock change, the given settings as they were (row locked until the commit): if Redis
  // refuses the change, the PATCH puts them back, so a 409 changes nothing.
  const previous = stock_delta === 0 ? {} : await settingsBefore(tx, id, given, locked);
  if (previous === null) return null;
  // stock_total stays in 0..total_max (below 0 a CHECK, far above it an integer overflow): a
  // change past either end is refused before anything is written, judged on the row as locked.
  const [row] = await tx<ProductRow[]>`
    UPDATE products SET ${tx(given)},
      stock_total = stock_total + ${stock_delta}, settings_version = settings_version + 1
    WHERE id = ${id} AND stock_total + ${stock_delta} BETWEEN 0 AND ${stock.total_max} RETURNING *`;
  if (!row) {
    const [exists] = await tx`SELECT 1 FROM products WHERE id = ${id}`;
    if (!exists) return null;
    return stock_delta > 0 ? 'stock_above_max' : 'stock_would_go_negative';
  }
  if (stock_delta === 0) return { product: productFromRow(row), adjustment: null, previous };
  // The durable record of the delta comes first: Redis applies it by this id, at most once.
  const [a] = await tx<{ id: string }[]>`
    INSERT INTO stock_adjustments (product_id, delta, idempotency_key, idempotency_request)
    VALUES (${id}, ${stock_delta}, ${idempotency?.key ?? null}, ${idempotency?.request ?? null})
    RETURNING id`;
  return {
    product: productFromRow(row),
    adjustment: { id: Number(a!.id), product_id: id, delta: stock_delta },
    previous,
  };
}

/** The product's row, locked until the commit; null if there is no such product. */
async function lockedRow(tx: Tx, id: number): Promise<ProductRow | null> {
  const [row] = await tx<ProductRow[]>`SELECT * FROM products WHERE id = ${id} FOR UPDATE`;
  return row ?? null;
}

/**
 * What a request under this Idempotency-Key already did, on the product's locked row (a concurrent
 * request with the same key waited for this one's commit and then finds its adjustment).
 * undefined: nothing under the key (handle the request). A refused adjustment changed nothing and
 * is not looked at (the request is handled again); a key older than 24 hours is let go (cleared) so
 * it may be used afresh.
 */
async function keyedAdjustment(
  tx: Tx,
  row: ProductRow,
  idempotency: IdempotentRequest,
): Promise<ProductUpdate | undefined> {
  const id = Number(row.id);
  await tx`
    UPDATE stock_adjustments SET idempotency_key = NULL, idempotency_request = NULL
    WHERE product_id = ${id} AND idempotency_key = ${idempotency.key}
      AND created_at <= now() - make_interval(secs => ${IDEMPOTENCY_TTL_S})`;
  const [earlier] = await tx<
    { id: string; delta: number; withdrawn: boolean; applied: boolean; idempotency_request: string }[]
  >`
    SELECT id, delta, withdrawn_at IS NOT NULL AS withdrawn, applied_at IS NOT NULL AS applied,
      idempotency_request
    FROM stock_adjustments
    WHERE product_id = ${id} AND idempotency_key = ${idempotency.key} AND refused_at IS NULL`;
  if (!earlier) return undefined;
  if (earlier.idempotency_request !== idempotency.request) return 'idempotency_key_reused';
  return {
    replay: {
      id: Number(earlier.id),
      product_id: id,
      delta: earlier.delta,
      withdrawn: earlier.withdrawn,
      applied: earlier.applied,
    },
    product: productFromRow(row),
  };
}

/** The given settings as the row holds them (locked here unless the caller has); null if no such product. */
async function settingsBefore(
  tx: Tx,
  id: number,
  given: Record<string, unknown>,
  locked: ProductRow | null,
): Promise<ProductSettingsPatch | null> {
  const fields = Object.keys(given).filter((k) => k !== 'updated_at');
  if (fields.length === 0) return {};
  const row = locked ?? (await lockedRow(tx, id));
  if (!row) return null;
  const before = productFromRow(row) as unknown as Record<string, unknown>;
  return Object.fromEntries(fields.map((k) => [k, before[k]])) as ProductSettingsPatch;
}

function isCheckViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint_name?: string };
  return e.code === '23514' && e.constraint_name === constraint;
}
