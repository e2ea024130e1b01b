import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';

export interface Levels {
  quantity: number;
  reservedQuantity: number;
}

/**
 * Bare order rows that reservations can point at (orders.id is their foreign key): one customer and
 * `count` PENDING orders. The orders module owns real order creation; this is only a stand-in.
 */
export async function createOrderIds(ds: DataSource, count = 1): Promise<string[]> {
  const [user] = await ds.query<{ id: string }[]>(
    `INSERT INTO users (email, password_hash, first_name, last_name)
     VALUES ($1, 'not-a-real-hash', 'Stock', 'Tester') RETURNING id`,
    [`stock-${randomBytes(6).toString('hex')}@example.com`],
  );
  const rows = await ds.query<{ id: string }[]>(
    `INSERT INTO orders (user_id, total_amount) SELECT $1, 10.00 FROM generate_series(1, $2) RETURNING id`,
    [user.id, count],
  );
  return rows.map((r) => r.id);
}

export async function levelsOf(ds: DataSource, productId: string): Promise<Levels> {
  const [row] = await ds.query<{ quantity: number; reserved_quantity: number }[]>(
    `SELECT quantity, reserved_quantity FROM inventory WHERE product_id = $1`,
    [productId],
  );
  return { quantity: row.quantity, reservedQuantity: row.reserved_quantity };
}

/** What the stock ledger sums to; it must always equal `levelsOf`. */
export async function ledgerSumsOf(ds: DataSource, productId: string): Promise<Levels> {
  const [row] = await ds.query<{ quantity: number; reserved_quantity: number }[]>(
    `SELECT coalesce(sum(quantity_delta), 0)::int AS quantity, coalesce(sum(reserved_delta), 0)::int AS reserved_quantity
       FROM stock_movements WHERE product_id = $1`,
    [productId],
  );
  return { quantity: row.quantity, reservedQuantity: row.reserved_quantity };
}
