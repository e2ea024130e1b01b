/**
 * Rows and bytes per order in every table (docs/operations.md, Sizing): a fresh database, N orders placed
 * over HTTP and carried through the whole saga by one ROLE=all process (mock gateway at once and always
 * succeeding, every notification sent), then each table's growth divided by N. The database is dropped.
 *
 *   node -r @swc-node/register scripts/measure-sizing.ts [orders=500]
 */
import { randomInt, randomUUID } from 'node:crypto';
import { prepareDatabase } from '../src/bootstrap';
import { loadConfig } from '../src/config/config';
import { createProduct } from '../test/factories/product.factory';
import { createUserWithToken } from '../test/factories/user.factory';
import { databaseUrlFor, dropDatabase, uniqueName } from '../test/support/test-database';
import { startTestApp } from '../test/support/test-app';

interface TableSize {
  table: string;
  rows: number;
  bytes: number;
}

async function main(): Promise<void> {
  const orders = Number(process.argv[2] ?? 500);
  const name = uniqueName('aop_sizing');
  process.env.DATABASE_URL = databaseUrlFor(name);
  process.env.QUEUE_PREFIX = `{${name}}`;
  process.env.SEED_DEMO = 'false';
  await prepareDatabase(loadConfig(process.env));
  const app = await startTestApp({
    ROLE: 'all',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    PAYMENT_LATENCY_MIN_MS: '0',
    PAYMENT_LATENCY_MAX_MS: '0',
    PAYMENT_SUCCESS_RATE: '1',
    PAYMENT_TRANSIENT_FAILURE_RATE: '0',
    PAYMENT_GATEWAY_RATE_PER_SECOND: '100000',
    PAYMENT_GATEWAY_BURST: '100000',
    NOTIFICATION_SUCCESS_RATE: '1',
    NOTIFICATION_USER_HOURLY_LIMIT: '0',
  });
  const db = app.dataSource;
  const sizes = async (): Promise<Map<string, TableSize>> => {
    await db.query('VACUUM ANALYZE');
    const tables = await db.query<{ table: string }[]>(
      `SELECT relname AS table FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`,
    );
    const result = new Map<string, TableSize>();
    for (const { table } of tables) {
      const [row] = await db.query<{ rows: number; bytes: string }[]>(
        `SELECT (SELECT count(*) FROM "${table}")::int AS rows, pg_total_relation_size('"${table}"')::text AS bytes`,
      );
      result.set(table, { table, rows: row.rows, bytes: Number(row.bytes) });
    }
    return result;
  };
  try {
    const customers = await Promise.all(Array.from({ length: 50 }, () => createUserWithToken(app)));
    const products: { id: string }[] = [];
    for (let i = 0; i < 20; i++) {
      products.push(await createProduct(db, { stock: 100_000 }));
    }
    const before = await sizes();
    let placed = 0;
    const place = async (): Promise<void> => {
      while (placed < orders) {
        placed += 1;
        const { token } = customers[randomInt(customers.length)];
        const chosen = new Set(
          Array.from({ length: randomInt(1, 4) }, () => products[randomInt(products.length)].id),
        );
        const res = await app
          .http()
          .post('/api/v1/orders')
          .set('authorization', `Bearer ${token}`)
          .set('idempotency-key', randomUUID())
          .send({ items: [...chosen].map((productId) => ({ productId, quantity: randomInt(1, 4) })) });
        if (res.status !== 202) {
          throw new Error(`POST /orders answered ${res.status}: ${JSON.stringify(res.body)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, place));
    const deadline = Date.now() + 300_000;
    for (;;) {
      const [row] = await db.query<{ open: number; unsent: number; outbox: number }[]>(
        `SELECT (SELECT count(*) FROM orders WHERE status IN ('PENDING', 'PROCESSING', 'PAYMENT_PENDING'))::int AS open,
                (SELECT count(*) FROM notifications WHERE status = 'QUEUED')::int AS unsent,
                (SELECT count(*) FROM outbox_events WHERE processed_at IS NULL)::int AS outbox`,
      );
      if ((row.open === 0 && row.unsent === 0 && row.outbox === 0) || Date.now() > deadline) {
        console.error(`settled: ${JSON.stringify(row)}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const [statuses] = await db.query<{ s: Record<string, number> }[]>(
      `SELECT jsonb_object_agg(status, n) AS s FROM (SELECT status, count(*)::int AS n FROM orders GROUP BY status) x`,
    );
    // What compaction takes away after 90 days: the saga timeline and the notification body, per order.
    const [compactable] = await db.query<{ timeline: number; body: number }[]>(
      `SELECT (SELECT coalesce(sum(pg_column_size(step_history)), 0) FROM saga_state)::float8 / $1 AS timeline,
              (SELECT coalesce(sum(pg_column_size(body)), 0) FROM notifications)::float8 / $1 AS body`,
      [orders],
    );
    const after = await sizes();
    const rows = [...after.values()]
      .map((a) => {
        const b = before.get(a.table) ?? { rows: 0, bytes: 0 };
        return {
          table: a.table,
          rowsPerOrder: (a.rows - b.rows) / orders,
          bytesPerOrder: (a.bytes - b.bytes) / orders,
        };
      })
      .filter((r) => r.rowsPerOrder > 0 || r.bytesPerOrder > 0)
      .sort((x, y) => y.bytesPerOrder - x.bytesPerOrder);
    console.log(
      JSON.stringify({ orders, statuses: statuses.s, compactableBytesPerOrder: compactable, rows }, null, 2),
    );
    console.log('| table | rows per order | bytes per order |\n| --- | ---: | ---: |');
    for (const r of rows) {
      console.log(`| ${r.table} | ${r.rowsPerOrder.toFixed(2)} | ${Math.round(r.bytesPerOrder)} |`);
    }
  } finally {
    await app.close();
    await dropDatabase(process.env.DATABASE_URL);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
