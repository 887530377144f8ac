// A release run over some products only (lib/sale/release-run.ts `product_ids`): the lists it
// reads whole (products, rollback evidence) are narrowed here; the bounded queries take the scope.
import type { ProductScope } from './ports';

/** The items of `scope`'s products, in their order (all of them when the scope is null). */
export function inScope<T>(items: T[], scope: ProductScope, product_id: (item: T) => number): T[] {
  if (scope === null) return items;
  const wanted = new Set(scope);
  return items.filter((item) => wanted.has(product_id(item)));
}
