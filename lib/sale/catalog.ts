// Creating products and reading the catalog. Reads come from the inventory (live `available`),
// so browsing during a sale never reaches PostgreSQL.
import type {
  CatalogInventory,
  Logger,
  ProductScope,
  ProductSettingsPatch,
  ProductSnapshot,
  ProductStore,
  ProductUpdate,
  StockAdjustment,
} from './ports';
import { type Product, STOCK_TOTAL_MAX } from './types';

export interface CatalogDeps {
  inventory: CatalogInventory;
  products: ProductStore;
}

/** PostgreSQL first (it assigns the id and is the durable record), then the sale state in Redis. */
export async function createProduct(deps: CatalogDeps, input: Omit<Product, 'id'>): Promise<ProductSnapshot> {
  const product = await deps.products.create(input);
  await deps.inventory.loadProduct(product);
  await deps.products.markLoaded(product.id);
  const [snapshot] = await deps.inventory.snapshots([product.id]);
  if (!snapshot) throw new Error(`product ${product.id} has no sale state after loading`);
  return snapshot;
}

/** The product, null if there is none, "unavailable" if its state was lost and is being rebuilt. */
export async function getProduct(
  deps: Pick<CatalogDeps, 'inventory'>,
  id: number,
): Promise<ProductSnapshot | null | 'unavailable'> {
  const [snapshot] = await deps.inventory.snapshots([id]);
  if (snapshot) return snapshot;
  return (await deps.inventory.stateLost(id)) ? 'unavailable' : null;
}

/**
 * Every product the inventory holds, and the ids of those whose state was lost and is not rebuilt
 * yet (named, not silently left out). "unavailable" when the whole dataset was lost: which
 * products exist is then PostgreSQL's to say, and browsing never reads it.
 */
export async function listProducts(
  deps: Pick<CatalogDeps, 'inventory'>,
): Promise<{ items: ProductSnapshot[]; unavailable_ids: number[] } | 'unavailable'> {
  const catalog = await deps.inventory.catalog();
  if (!catalog) return 'unavailable';
  return {
    items: catalog.snapshots.sort((a, b) => a.product.id - b.product.id),
    unavailable_ids: catalog.missing.sort((a, b) => a - b),
  };
}

export interface ProductPatch {
  name?: string;
  sale_starts_at?: Date | null;
  sale_ends_at?: Date | null;
  max_per_order?: number;
  per_customer_limit?: number | null;
  reservation_ttl_s?: number;
  paused?: boolean;
  stock_delta?: number;
}

export type UpdateOutcome =
  /** replayed: the answer to a repeat of an Idempotency-Key's request (nothing applied again) */
  | { kind: 'updated'; snapshot: ProductSnapshot; replayed?: true }
  | { kind: 'not_found' }
  /** the Idempotency-Key's stock change was made by another request (another body) */
  | { kind: 'idempotency_key_reused' }
  /**
   * settings_kept: the settings given with the refused change stand (another PATCH wrote the
   * product after this one, so putting them back could revert its write); otherwise nothing changed.
   */
  | { kind: 'stock_would_go_negative'; available: number; settings_kept?: true }
  /**
   * The product's sale state is lost or being rebuilt. saved false: nothing changed (a stock change
   * was taken back), retry later; saved true: the state was lost after the change was written, so
   * the change stands and takes effect with the rebuild.
   */
  | { kind: 'unavailable'; saved: boolean; settings_kept?: true }
  | { kind: 'invalid'; field: string; detail: string };

/** The window as it would be stored ends before it starts (the domain's check, or the table's). */
const WINDOW_INVALID = {
  kind: 'invalid',
  field: 'sale_ends_at',
  detail: 'sale_ends_at must be after sale_starts_at',
} as const;

const STOCK_ABOVE_MAX = {
  kind: 'invalid',
  field: 'stock_delta',
  detail: `would take stock_total above ${STOCK_TOTAL_MAX}`,
} as const;

/**
 * Settings and a stock change go to PostgreSQL first, in one transaction (the change as a pending
 * adjustment with an id); then Redis, the only place that knows what is available right now,
 * decides the adjustment atomically and at most once by its id; then PostgreSQL records the
 * decision (a refusal takes the delta back off). A crash in between leaves a pending adjustment the
 * release run finishes; a rebuild meanwhile decides it from its snapshot.
 *
 * With an Idempotency-Key the adjustment is recorded under it: the same request again applies
 * nothing and answers the product as it is now (finishing the first request's adjustment if that
 * one never got to Redis, as the release run would); another request under the key is refused.
 * A first request whose change was refused changed nothing, and its repeat is handled afresh.
 */
export async function updateProduct(
  deps: CatalogDeps & { log: Logger },
  id: number,
  patch: ProductPatch,
  idempotency_key: string | null = null,
  afresh = false,
): Promise<UpdateOutcome> {
  const written = await writeUpdate(deps, id, patch, idempotency_key);
  if ('kind' in written) return written;
  if ('replay' in written) {
    const replayed = await replayAdjustment(deps, written);
    if (replayed) return replayed;
    // The first request's change was refused (it changed nothing): this one is handled afresh,
    // once (a concurrent request under the same key finishing first makes it a replay again).
    if (afresh) return { kind: 'unavailable', saved: false };
    return updateProduct(deps, id, patch, idempotency_key, true);
  }
  if (written.adjustment) {
    const refused = await applyAdjustment(deps, written.adjustment);
    if (refused) return putSettingsBack(deps, written, refused);
  }
  // Versioned: a slower PATCH's older settings never overwrite a newer one's in Redis.
  await deps.inventory.updateProduct(written.product);
  const [snapshot] = await deps.inventory.snapshots([id]);
  if (!snapshot) return { kind: 'unavailable', saved: true };
  return { kind: 'updated', snapshot };
}

/** PostgreSQL's part: the checks, then the write (or the Idempotency-Key's earlier adjustment). */
async function writeUpdate(
  deps: CatalogDeps,
  id: number,
  patch: ProductPatch,
  idempotency_key: string | null,
): Promise<UpdateOutcome | Exclude<ProductUpdate, string>> {
  const current = await deps.products.get(id);
  if (!current) return { kind: 'not_found' };
  const { stock_delta = 0, ...settings } = patch;
  const merged: Product = { ...current, ...settings };
  if (merged.sale_starts_at && merged.sale_ends_at && merged.sale_ends_at <= merged.sale_starts_at) {
    return WINDOW_INVALID;
  }
  // Lost or being rebuilt: refused before anything is written, as the product's reads answer 503.
  if ((await deps.inventory.snapshots([id])).length === 0) return { kind: 'unavailable', saved: false };
  const idempotency =
    idempotency_key === null ? null : { key: idempotency_key, request: canonicalRequest(patch) };
  const written = await deps.products.update(
    id,
    settings,
    { delta: stock_delta, total_max: STOCK_TOTAL_MAX },
    idempotency,
  );
  if (!written) return { kind: 'not_found' };
  if (written === 'window_invalid') return WINDOW_INVALID;
  if (written === 'stock_above_max') return STOCK_ABOVE_MAX;
  if (written === 'idempotency_key_reused') return { kind: 'idempotency_key_reused' };
  if (written === 'stock_would_go_negative') {
    // available never exceeds stock_total, so Redis would refuse it too.
    const [snapshot] = await deps.inventory.snapshots([id]);
    return { kind: 'stock_would_go_negative', available: snapshot?.available ?? 0 };
  }
  return written;
}

/**
 * The same request under an Idempotency-Key as one whose adjustment is recorded: applies nothing
 * again. A pending one (its PATCH died or answered 503 before recording Redis's decision) is
 * finished here as the release run would, by its id, at most once. null: it was refused.
 */
async function replayAdjustment(
  deps: CatalogDeps,
  { replay, product }: { replay: StockAdjustment & { applied: boolean }; product: Product },
): Promise<UpdateOutcome | null> {
  const { applied, ...adjustment } = replay;
  if (!applied) {
    const fate = await finishAdjustment(deps, adjustment);
    // Lost or being rebuilt: the rebuild decides it; a retry then finds its fate.
    if (fate === 'missing') return { kind: 'unavailable', saved: true };
    if (fate === 'refused') return null;
  }
  // The first request's settings, in case it died before writing them (a newer version wins).
  await deps.inventory.updateProduct(product);
  const [snapshot] = await deps.inventory.snapshots([product.id]);
  if (!snapshot) return { kind: 'unavailable', saved: true };
  return { kind: 'updated', snapshot, replayed: true };
}

/** The request as an Idempotency-Key records it: fields sorted, times as UTC instants. */
export function canonicalRequest(patch: ProductPatch): string {
  const fields = Object.entries(patch).filter(([, v]) => v !== undefined);
  return JSON.stringify(Object.fromEntries(fields.sort(([a], [b]) => (a < b ? -1 : 1))));
}

/**
 * A refused stock change takes the settings written with it back too, so the refusal changes
 * nothing: left in PostgreSQL, the release run (or the next PATCH of any field) put them live in
 * Redis behind the 409. Not when another PATCH wrote the product since: its write stands.
 */
async function putSettingsBack<R extends { kind: string }>(
  deps: CatalogDeps & { log: Logger },
  written: { product: Product; previous: ProductSettingsPatch },
  refused: R,
): Promise<R | (R & { settings_kept: true })> {
  if (Object.keys(written.previous).length === 0) return refused;
  const { id, settings_version = 0 } = written.product;
  const reverted = await deps.products.revertSettings(id, written.previous, settings_version);
  if (!reverted) {
    deps.log.warn('stock change refused; the settings given with it stand (another PATCH followed)', {
      product_id: id,
      settings: Object.keys(written.previous),
    });
    return { ...refused, settings_kept: true };
  }
  // Redis may hold them already (a release run's repair in between): the newer version wins there.
  await deps.inventory.updateProduct(reverted).catch((err: Error) => {
    deps.log.warn('settings put back in PostgreSQL, not yet in Redis: the release run writes them', {
      product_id: id,
      error: err.message,
    });
  });
  return refused;
}

/** Redis decides, PostgreSQL records it; null when the stock change stands. */
async function applyAdjustment(
  deps: CatalogDeps & { log: Logger },
  adjustment: StockAdjustment,
): Promise<
  { kind: 'stock_would_go_negative'; available: number } | { kind: 'unavailable'; saved: false } | null
> {
  const r = await deps.inventory.adjustStock(adjustment.product_id, adjustment).catch(async (err) => {
    // Outcome unknown, and the PATCH answers 503 ("retry"): the release run must refuse the change
    // rather than apply it later, or the admin's retry adds it twice. If Redis did apply it before
    // its reply was lost, the release run finds it applied and records that.
    await deps.products.withdrawAdjustment(adjustment);
    throw err;
  });
  if (r.kind === 'missing') {
    // Lost or being rebuilt: take it back unless the rebuild already counted it.
    if ((await deps.products.settleAdjustment(adjustment, 'refused')) === 'applied') return null;
    return { kind: 'unavailable', saved: false };
  }
  // Redis has decided. If PostgreSQL cannot record it now the release run does (adjust-stock.lua
  // gives it the same decision), so the answer is Redis's decision, not a 503 whose retry would be
  // a second change.
  const decided = r.kind === 'applied' ? 'applied' : 'refused';
  const fate = await deps.products.settleAdjustment(adjustment, decided).catch((err: Error) => {
    deps.log.warn('stock adjustment decided, not yet recorded: the release run records it', {
      product_id: adjustment.product_id,
      adjustment_id: adjustment.id,
      decided,
      error: err.message,
    });
    return decided;
  });
  if (fate === 'applied') return null;
  const [snapshot] = await deps.inventory.snapshots([adjustment.product_id]);
  return {
    kind: 'stock_would_go_negative',
    available: r.kind === 'refused' ? r.available : (snapshot?.available ?? 0),
  };
}

/**
 * The release run's part: adjustments a PATCH recorded but never settled (it died, or timed out).
 * Idempotent by id, so a PATCH still finishing concurrently is harmless; "missing" waits for the
 * rebuild, which decides them from its snapshot.
 */
export async function finishPendingAdjustments(
  deps: {
    inventory: Pick<CatalogInventory, 'adjustStock'>;
    products: Pick<ProductStore, 'pendingAdjustments' | 'settleAdjustment'>;
  },
  older_than_s: number,
  limit: number,
  scope: ProductScope = null,
): Promise<number> {
  let settled = 0;
  for (const a of await deps.products.pendingAdjustments(older_than_s, limit, scope))
    if ((await finishAdjustment(deps, a)) !== 'missing') settled++;
  return settled;
}

/**
 * A pending adjustment finished by its id: Redis decides it (at most once), PostgreSQL records the
 * decision and returns the final fate. "missing": the product is lost or being rebuilt, and the
 * rebuild decides it from its snapshot.
 */
async function finishAdjustment(
  deps: {
    inventory: Pick<CatalogInventory, 'adjustStock'>;
    products: Pick<ProductStore, 'settleAdjustment'>;
  },
  a: StockAdjustment,
): Promise<'applied' | 'refused' | 'missing'> {
  const r = await deps.inventory.adjustStock(a.product_id, a);
  if (r.kind === 'missing') return 'missing';
  return deps.products.settleAdjustment(a, r.kind);
}
