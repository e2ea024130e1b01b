import { DataSource } from 'typeorm';
import { AppConfig } from '../../../config/config';
import { hashPassword } from '../../../modules/auth/password-hasher';
import { DEMO_CATALOGUE } from './demo-catalogue';

const SEED_LOCK = 727_002;

/**
 * Creates the admin when missing and, with SEED_DEMO, a demo catalogue in an empty database.
 * Idempotent: a second start changes nothing. Stock arrives through the ledger like any replenishment.
 */
export async function seedDatabase(
  dataSource: DataSource,
  config: AppConfig,
  log: (message: string) => void = () => undefined,
): Promise<void> {
  await dataSource.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK]);

    const [admin] = await tx.query<unknown[]>('SELECT id FROM users WHERE email = $1', [config.admin.email]);
    if (!admin) {
      await tx.query(
        `INSERT INTO users (email, password_hash, first_name, last_name, role) VALUES ($1, $2, 'Admin', 'User', 'admin')`,
        [config.admin.email, await hashPassword(config.admin.password)],
      );
      log(`Created admin ${config.admin.email}`);
    }

    if (!config.seed.demo) {
      return;
    }
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
  });
}
