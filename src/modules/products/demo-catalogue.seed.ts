import { EntityManager } from 'typeorm';
import { DEMO_CATALOGUE } from './demo-catalogue';

/**
 * Fills an empty catalogue with the demo products. Their stock arrives through the inventory ledger
 * like any replenishment (a REPLENISH movement per product), so the stock invariants hold from the start.
 */
export async function seedDemoCatalogue(tx: EntityManager, log: (message: string) => void): Promise<void> {
  const [{ count }] = await tx.query<[{ count: number }]>('SELECT count(*)::int AS count FROM products');
  if (count > 0) {
    return;
  }
  await tx.query(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS x(sku text, name text, description text, price numeric, category text, stock int)
     ), created AS (
       INSERT INTO products (sku, name, description, price, category)
       SELECT sku, name, description, price, category FROM input
       RETURNING id, sku
     ), stocked AS (
       INSERT INTO inventory (product_id, quantity)
       SELECT c.id, i.stock FROM created c JOIN input i USING (sku)
       RETURNING product_id, quantity
     )
     INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, actor, reason)
     SELECT product_id, 'REPLENISH', quantity, 0, 'seed', 'demo catalogue' FROM stocked`,
    [JSON.stringify(DEMO_CATALOGUE)],
  );
  log(`Seeded a demo catalogue of ${DEMO_CATALOGUE.length} products`);
}
