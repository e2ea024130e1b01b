import { Client } from 'pg';
import { prepareDatabase } from '../../bootstrap';
import { loadConfig } from '../../config/config';
import { databaseUrlFor, dropDatabase, uniqueName } from '../../../test/support/test-database';
import { createDataSource } from './data-source';
import { MIGRATIONS } from './migrations';
import { HOT_TABLE_AUTOVACUUM } from './migrations/1733200100000-HotTableAutovacuum';

async function tablesOf(url: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY 1`,
    );
    return rows.map((r) => r.table_name);
  } finally {
    await client.end();
  }
}

async function countOf(url: string, table: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

describe('Database bootstrap', () => {
  const url = databaseUrlFor(uniqueName('aop_bootstrap'));
  const config = loadConfig({ ...process.env, DATABASE_URL: url, SEED_DEMO: 'true' });

  afterAll(() => dropDatabase(url));

  describe(prepareDatabase.name, () => {
    it('creates a missing database, migrates it and seeds the admin and the demo catalogue', async () => {
      const first = await prepareDatabase(config);

      expect(first.created).toBe(true);
      expect(first.migrations).toHaveLength(MIGRATIONS.length);
      expect(await tablesOf(url)).toEqual(
        expect.arrayContaining([
          'users',
          'products',
          'inventory',
          'orders',
          'order_items',
          'outbox_events',
          'saga_state',
          'refresh_tokens',
          'inventory_reservations',
          'stock_movements',
          'idempotency_records',
          'processed_messages',
          'dead_letters',
          'payments',
          'notifications',
        ]),
      );
      expect(await countOf(url, "users WHERE role = 'admin'")).toBe(1);
      expect(await countOf(url, 'products')).toBeGreaterThan(0);
      expect(await countOf(url, 'stock_movements')).toBe(await countOf(url, 'products'));
    });

    it('changes nothing when started again on an existing database', async () => {
      const before = {
        users: await countOf(url, 'users'),
        products: await countOf(url, 'products'),
        movements: await countOf(url, 'stock_movements'),
      };

      const second = await prepareDatabase(config);

      expect(second).toEqual({ created: false, migrations: [] });
      expect({
        users: await countOf(url, 'users'),
        products: await countOf(url, 'products'),
        movements: await countOf(url, 'stock_movements'),
      }).toEqual(before);
    });

    it('survives two processes starting at the same time', async () => {
      const otherUrl = databaseUrlFor(uniqueName('aop_race'));
      const otherConfig = loadConfig({ ...process.env, DATABASE_URL: otherUrl, SEED_DEMO: 'true' });
      try {
        const results = await Promise.all([prepareDatabase(otherConfig), prepareDatabase(otherConfig)]);
        expect(results.map((r) => r.migrations.length).sort()).toEqual([0, MIGRATIONS.length]);
        expect(await countOf(otherUrl, "users WHERE role = 'admin'")).toBe(1);
      } finally {
        await dropDatabase(otherUrl);
      }
    });
  });

  describe('migrations', () => {
    it('run down to an empty schema and up again cleanly', async () => {
      const dataSource = await createDataSource(config).initialize();
      try {
        for (let i = 0; i < MIGRATIONS.length; i++) {
          await dataSource.undoLastMigration({ transaction: 'each' });
        }
        expect(await tablesOf(url)).toEqual([]);

        const applied = await dataSource.runMigrations({ transaction: 'each' });
        expect(applied).toHaveLength(MIGRATIONS.length);
        expect(await tablesOf(url)).toContain('orders');
      } finally {
        await dataSource.destroy();
      }
    });

    it('set autovacuum by dead-tuple count on the hot-update tables (issue 22)', async () => {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ relname: string; reloptions: string[] }>(
          `SELECT relname, reloptions FROM pg_class
           WHERE relname = ANY($1) AND relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname`,
          [Object.keys(HOT_TABLE_AUTOVACUUM)],
        );
        expect(rows.map((r) => r.relname)).toEqual(['inventory', 'orders', 'outbox_events', 'saga_state']);
        for (const row of rows) {
          const expected = Object.entries(HOT_TABLE_AUTOVACUUM[row.relname]).map(([k, v]) => `${k}=${v}`);
          expect(row.reloptions.sort()).toEqual(expected.sort());
        }
      } finally {
        await client.end();
      }
    });

    it('enforce the stock invariants in the database itself', async () => {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO products (sku, name, price) VALUES ('INV-CHECK', 'x', 1) RETURNING id`,
        );
        const productId = rows[0].id;
        await client.query('INSERT INTO inventory (product_id, quantity) VALUES ($1, 5)', [productId]);
        await expect(
          client.query('UPDATE inventory SET reserved_quantity = 6 WHERE product_id = $1', [productId]),
        ).rejects.toThrow(/inventory_reserved_le_quantity/);
        await expect(
          client.query('UPDATE inventory SET quantity = -1 WHERE product_id = $1', [productId]),
        ).rejects.toThrow(/check constraint/);
        await expect(
          client.query(`INSERT INTO products (sku, name, price) VALUES ('INV-CHECK', 'y', 2)`),
        ).rejects.toThrow(/products_sku_key/);
        await expect(
          client.query(`INSERT INTO products (sku, name, price) VALUES ('INV-ZERO', 'z', 0)`),
        ).rejects.toThrow(/check constraint/);
      } finally {
        await client.end();
      }
    });
  });
});
