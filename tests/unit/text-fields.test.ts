// Free-text fields (product sku and name) refuse what PostgreSQL would not store as sent.
import { describe, expect, it } from 'vitest';
import { CreateProductBody } from '../../lib/http/schemas';

const product = (name: string) => ({ sku: 'sku-1', name, price_cents: 100, currency: 'EUR', stock_total: 1 });

describe('product text fields', () => {
  it('keep any well-formed text, emoji and their joiners included', () => {
    for (const name of ['Konsole', 'café', '🎮 drop', 'family 👩‍👩‍👧', '\ud83c\udfae paired']) {
      expect(CreateProductBody.safeParse(product(name)).success, name).toBe(true);
    }
  });

  it('refuse a lone surrogate (stored as U+FFFD before) and control characters, naming the field', () => {
    for (const name of ['\ud800', 'a\udfffb', 'end\ud83c', 'nul\u0000', 'del\u007f']) {
      const r = CreateProductBody.safeParse(product(name));
      expect(r.success, JSON.stringify(name)).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['name']);
    }
    const sku = CreateProductBody.safeParse({ ...product('ok'), sku: 'x\udc00' });
    expect(sku.error?.issues[0]?.message).toBe('well-formed Unicode (no lone surrogate)');
  });
});
