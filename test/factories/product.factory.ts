import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';

export interface ProductOverrides {
  sku?: string;
  name?: string;
  description?: string;
  price?: string;
  currency?: string;
  category?: string | null;
  isActive?: boolean;
  deleted?: boolean;
  /** Units on hand, recorded through a REPLENISH ledger row like real stock. */
  stock?: number;
  lowStockThreshold?: number;
}

export interface CreatedProduct {
  id: string;
  sku: string;
  name: string;
  price: string;
}

export const uniqueSku = (prefix = 'SKU'): string =>
  `${prefix}-${randomBytes(5).toString('hex').toUpperCase()}`;

/** A valid POST /products body with a unique SKU. */
export function buildProductInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sku: uniqueSku('T'),
    name: `Test product ${randomBytes(3).toString('hex')}`,
    description: 'A product made by a test.',
    price: '19.99',
    category: 'test',
    ...overrides,
  };
}

/** A product with its inventory row (and the ledger row of its stock), straight into the database. */
export async function createProduct(
  ds: DataSource,
  overrides: ProductOverrides = {},
): Promise<CreatedProduct> {
  const sku = overrides.sku ?? uniqueSku('F');
  const name = overrides.name ?? `Factory product ${sku}`;
  const price = overrides.price ?? '10.00';
  const stock = overrides.stock ?? 0;
  return ds.transaction(async (tx) => {
    const [row] = await tx.query<{ id: string }[]>(
      `INSERT INTO products (sku, name, description, price, currency, category, is_active, deleted_at)
       VALUES ($1, $2, $3, $4::numeric, $5, $6, $7, CASE WHEN $8 THEN now() END) RETURNING id`,
      [
        sku,
        name,
        overrides.description ?? 'Made by a factory.',
        price,
        overrides.currency ?? 'USD',
        overrides.category === undefined ? 'test' : overrides.category,
        overrides.isActive ?? true,
        overrides.deleted ?? false,
      ],
    );
    await tx.query(`INSERT INTO inventory (product_id, quantity, low_stock_threshold) VALUES ($1, $2, $3)`, [
      row.id,
      stock,
      overrides.lowStockThreshold ?? 10,
    ]);
    if (stock > 0) {
      await tx.query(
        `INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, actor, reason)
         VALUES ($1, 'REPLENISH', $2, 0, 'factory', 'test stock')`,
        [row.id, stock],
      );
    }
    return { id: row.id, sku, name, price };
  });
}
