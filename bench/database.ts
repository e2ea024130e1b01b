import { Client, Pool } from 'pg';
import { loadConfig } from '../src/config/config';
import { hashPassword } from '../src/modules/auth/password-hasher';
import { SETTLED_STATUSES } from '../src/modules/orders/order-status';
import { createDataSource } from '../src/platform/database/data-source';
import { ensureDatabaseExists, runMigrations } from '../src/platform/database/database-bootstrap';
import { seedDatabase } from '../src/seed';

export const SERVER_URL = 'postgres://postgres@127.0.0.1:5432';
export const BENCH_PASSWORD = 'BenchPassword-123!';
export const BENCH_STOCK = 1_000_000;
/** Delivered orders already in the benchmark database when it starts (a shop with a past). */
export const HISTORY_ORDERS = 20_000;

/**
 * Benchmark rows get ids computed from their ordinal, so pgbench (which only has integer variables)
 * can name the same users and products as the HTTP load does.
 */
export const USER_ID_PREFIX = '00000000-0000-4000-8000-';
export const PRODUCT_ID_PREFIX = '00000000-0000-4000-9000-';
export const benchUserId = (n: number): string => USER_ID_PREFIX + String(n).padStart(12, '0');
export const benchProductId = (n: number): string => PRODUCT_ID_PREFIX + String(n).padStart(12, '0');
export const benchUserEmail = (n: number): string => `bench-user-${n}@bench.example.com`;

export interface SettleOutcome {
  settled: number;
  total: number;
  /** Undefined when every order settled; otherwise why the wait ended. */
  incomplete?: 'saga-not-running' | 'stalled' | 'timeout';
}

export interface OrderStats {
  orders: number;
  byStatus: Record<string, number>;
  settled: number;
  /** First order created → last order settled, seconds. */
  spanSeconds: number | null;
  confirmMs: { p50: number; p95: number; p99: number; max: number } | null;
  outboxLagMs: { p50: number; p99: number; max: number } | null;
  /** commit→enqueue lag of every outbox event written between the first and last order (saga events too). */
  allEventsLagMs: { p50: number; p99: number; n: number } | null;
  deadLetters: number;
}

type Percentiles = { p50: number; p95: number; p99: number; max: number };

/** A throw-away database for one benchmark run: created, migrated, seeded, dropped. */
export class BenchDatabase {
  readonly url: string;
  private readonly pool: Pool;

  private constructor(readonly name: string) {
    this.url = `${SERVER_URL}/${name}`;
    this.pool = new Pool({ connectionString: this.url, max: 4, application_name: 'aop-bench' });
    // An idle connection ended by the server (the forced drop at clean-up) must not crash the run.
    this.pool.on('error', () => undefined);
  }

  /**
   * `history: false` is a new install: migrated, with the catalogue and customers, but no past orders
   * and never analysed, which is what a shop's first orders meet.
   */
  static async create(
    name: string,
    users: number,
    products: number,
    options: { history: boolean } = { history: true },
  ): Promise<BenchDatabase> {
    await ensureDatabaseExists(`${SERVER_URL}/${name}`, 5000);
    const config = loadConfig({ DATABASE_URL: `${SERVER_URL}/${name}`, SEED_DEMO: 'false' });
    const dataSource = await createDataSource(
      { database: { ...config.database, poolSize: 2 } },
      'aop-bench-migrate',
    ).initialize();
    try {
      await runMigrations(dataSource);
      await seedDatabase(dataSource, config);
    } finally {
      await dataSource.destroy();
    }
    const db = new BenchDatabase(name);
    await db.seed(users, products, options.history);
    return db;
  }

  /** Products with ample stock that arrives through the ledger, and customers sharing one argon2 hash. */
  private async seed(users: number, products: number, history: boolean): Promise<void> {
    const passwordHash = await hashPassword(BENCH_PASSWORD);
    await this.pool.query(
      `WITH created AS (
         INSERT INTO products (id, sku, name, description, price, category)
         SELECT ($1 || lpad(n::text, 12, '0'))::uuid, 'BENCH-' || lpad(n::text, 6, '0'), 'Bench product ' || n,
                'A product of the benchmark catalogue', (1 + n % 50) + 0.99, 'bench'
         FROM generate_series(1, $2::int) n
         RETURNING id
       ), stocked AS (
         INSERT INTO inventory (product_id, quantity) SELECT id, $3::int FROM created RETURNING product_id, quantity
       )
       INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, actor, reason)
       SELECT product_id, 'REPLENISH', quantity, 0, 'bench', 'benchmark catalogue' FROM stocked`,
      [PRODUCT_ID_PREFIX, products, BENCH_STOCK],
    );
    await this.pool.query(
      `INSERT INTO users (id, email, password_hash, first_name, last_name, role)
       SELECT ($1 || lpad(n::text, 12, '0'))::uuid, 'bench-user-' || n || '@bench.example.com', $3, 'Bench', 'User ' || n, 'customer'
       FROM generate_series(1, $2::int) n`,
      [USER_ID_PREFIX, users, passwordHash],
    );
    if (history) {
      await this.seedHistory(users, products);
      await this.pool.query('ANALYZE');
    }
  }

  /**
   * A shop's past: delivered orders with their lines, saga, charge, notification and outbox rows. The
   * hot statements are prepared, and a plan made on an empty table (a sequential scan) would be kept
   * while the table grows, which no running shop sees; so the measured phases start on tables of a
   * realistic size, and are never truncated between phases (see resetOrders).
   */
  private async seedHistory(users: number, products: number): Promise<void> {
    await this.pool.query(
      `WITH o AS (
         INSERT INTO orders (user_id, status, total_amount, currency, payment_method, created_at, updated_at,
                             confirmed_at, shipped_at, delivered_at, finished_at)
         SELECT ($1 || lpad((1 + n % $3::int)::text, 12, '0'))::uuid, 'DELIVERED', 10.99, 'USD', 'credit_card',
                t, t + interval '3 days', t + interval '1 second', t + interval '1 day', t + interval '3 days', t + interval '1 second'
         FROM generate_series(1, $2::int) n, LATERAL (SELECT now() - interval '40 days' + n * interval '2 minutes' AS t) ts
         RETURNING id, user_id, created_at
       ), items AS (
         INSERT INTO order_items (order_id, product_id, sku, product_name, unit_price, quantity, line_total)
         SELECT o.id, ($4 || lpad(p::text, 12, '0'))::uuid, 'BENCH-' || lpad(p::text, 6, '0'), 'Bench product ' || p, 10.99, 1, 10.99
         FROM o, LATERAL (SELECT 1 + abs(hashtext(o.id::text)) % $5::int AS p) pick
       ), history AS (
         INSERT INTO order_status_history (order_id, from_status, to_status, reason, created_at)
         SELECT id, NULL, 'PENDING', 'ORDER_PLACED', created_at FROM o
       ), saga AS (
         INSERT INTO saga_state (order_id, status, completed, data, started_at, updated_at, finished_at)
         SELECT id, 'COMPLETED', true, '{"completed": [], "attempts": {}}', created_at, created_at, created_at FROM o
       ), charge AS (
         INSERT INTO payments (order_id, kind, status, amount, currency, method, provider, provider_reference,
                               idempotency_key, created_at, updated_at)
         SELECT id, 'CHARGE', 'SUCCEEDED', 10.99, 'USD', 'credit_card', 'mock', 'history-' || id, 'charge:' || id,
                created_at, created_at FROM o
       ), note AS (
         INSERT INTO notifications (user_id, order_id, channel, template, status, recipient, subject, body,
                                    dedupe_key, attempts, created_at, updated_at, sent_at)
         SELECT user_id, id, 'email', 'order-confirmation', 'SENT', 'history@bench.example.com', 'Order', 'Order',
                'history:' || id, 1, created_at, created_at, created_at FROM o
       )
       INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload, created_at, available_at, processed_at)
       SELECT 'order', id, 'OrderCreated', jsonb_build_object('orderId', id, 'userId', user_id), created_at, created_at, created_at
       FROM o`,
      [USER_ID_PREFIX, HISTORY_ORDERS, users, PRODUCT_ID_PREFIX, products],
    );
  }

  query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.pool.query(sql, params).then((r) => r.rows as T[]);
  }

  /**
   * Silences what earlier phases left behind, between phases (only call with no worker running): the
   * orders the api accepted with no worker (POST phases) are closed and their outbox events marked
   * published, so the next phase's workers see only its own orders. Rows are kept, not truncated: an
   * emptied table would be planned for as empty (see seedHistory).
   */
  async resetOrders(): Promise<void> {
    // A connection of its own, closed at the end: a backend flushes its statistics when it exits, so
    // these statements do not show up late in the next phase's transactions per order.
    const client = new Client({ connectionString: this.url, application_name: 'aop-bench-reset' });
    await client.connect();
    try {
      await client.query(`UPDATE outbox_events SET processed_at = now() WHERE processed_at IS NULL`);
      await client.query(
        `UPDATE orders SET status = 'CANCELLED', failure_reason = 'BENCH_RESET', updated_at = now(),
                finished_at = coalesce(finished_at, now())
         WHERE status IN ('PENDING', 'PROCESSING', 'PAYMENT_PENDING')`,
      );
      await client.query(
        `UPDATE saga_state SET status = 'COMPENSATED', finished_at = now()
         WHERE status IN ('RUNNING', 'WAITING', 'COMPENSATING')`,
      );
      await client.query('DELETE FROM dead_letters');
      await client.query('VACUUM ANALYZE');
    } finally {
      await client.end();
    }
  }

  /** Polls until every order is settled, nothing moves for `stallSeconds`, or `timeoutSeconds` pass. */
  async waitSettled(ids: string[], stallSeconds: number, timeoutSeconds: number): Promise<SettleOutcome> {
    const started = Date.now();
    let last = '';
    let lastChange = Date.now();
    for (;;) {
      const [row] = await this.query<{ settled: number; moved: number }>(
        `SELECT count(*) FILTER (WHERE status = ANY($2))::int AS settled,
                count(*) FILTER (WHERE status <> 'PENDING')::int AS moved
         FROM orders WHERE id = ANY($1::uuid[])`,
        [ids, SETTLED_STATUSES],
      );
      if (row.settled === ids.length) {
        return { settled: row.settled, total: ids.length };
      }
      const now = Date.now();
      const signature = `${row.settled}/${row.moved}`;
      if (signature !== last) {
        last = signature;
        lastChange = now;
      } else if (now - lastChange > stallSeconds * 1000) {
        return {
          settled: row.settled,
          total: ids.length,
          incomplete: row.moved === 0 ? 'saga-not-running' : 'stalled',
        };
      }
      if (now - started > timeoutSeconds * 1000) {
        return { settled: row.settled, total: ids.length, incomplete: 'timeout' };
      }
      // Every 250 ms: each poll looks up every order by id, and the database is what is being measured.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Everything the end-to-end figures need, from database timestamps only. */
  async orderStats(ids: string[]): Promise<OrderStats> {
    const [o] = await this.query<{
      n: number;
      settled: number;
      by_status: Record<string, number> | null;
      span: number | null;
      first: Date | null;
      last: Date | null;
      c: number[] | null;
      cmax: number | null;
    }>(
      `WITH o AS (
         SELECT status, created_at, confirmed_at,
                CASE WHEN status = ANY($2) THEN coalesce(confirmed_at, finished_at, updated_at) END AS settled_at
         FROM orders WHERE id = ANY($1::uuid[])
       ), s AS (SELECT status, count(*)::int AS n FROM o GROUP BY status)
       SELECT (SELECT count(*)::int FROM o) AS n, count(settled_at)::int AS settled,
              (SELECT jsonb_object_agg(status, n) FROM s) AS by_status,
              extract(epoch FROM max(settled_at) - min(created_at))::float8 AS span,
              min(created_at) AS first, max(settled_at) AS last,
              percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM confirmed_at - created_at) * 1000)
                FILTER (WHERE confirmed_at IS NOT NULL) AS c,
              max(extract(epoch FROM confirmed_at - created_at) * 1000)::float8 AS cmax
       FROM o`,
      [ids, SETTLED_STATUSES],
    );
    const [lag] = await this.query<{ l: number[] | null; lmax: number | null }>(
      `SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - created_at) * 1000) AS l,
              max(extract(epoch FROM processed_at - created_at) * 1000)::float8 AS lmax
       FROM outbox_events WHERE event_type = 'OrderCreated' AND aggregate_id = ANY($1::uuid[]) AND processed_at IS NOT NULL`,
      [ids],
    );
    const [all] = await this.query<{ l: number[] | null; n: number }>(
      `SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - created_at) * 1000) AS l,
              count(*)::int AS n
       FROM outbox_events WHERE created_at BETWEEN $1 AND $2 AND processed_at IS NOT NULL`,
      [o.first, o.last],
    );
    const [dead] = await this.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters');
    const confirm: Percentiles | null =
      o.c && o.cmax !== null ? { p50: o.c[0], p95: o.c[1], p99: o.c[2], max: o.cmax } : null;
    return {
      orders: o.n,
      settled: o.settled,
      byStatus: o.by_status ?? {},
      spanSeconds: o.span,
      confirmMs: confirm,
      outboxLagMs: lag.l && lag.lmax !== null ? { p50: lag.l[0], p99: lag.l[1], max: lag.lmax } : null,
      allEventsLagMs: all.l ? { p50: all.l[0], p99: all.l[1], n: all.n } : null,
      deadLetters: dead.n,
    };
  }

  /** Backend pids of this database's connections (the service's pools and LISTEN connections). */
  async backendPids(): Promise<number[]> {
    const rows = await this.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name NOT LIKE 'aop-bench%'`,
    );
    return rows.map((r) => r.pid);
  }

  /** Transactions committed or rolled back in this database so far (every statement outside one counts). */
  async transactionCount(): Promise<number> {
    const [row] = await this.query<{ n: string }>(
      'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(row.n);
  }

  /** Orders (with their owner's ordinal) to read back in the GET phase. */
  async sampleOrders(limit: number): Promise<{ id: string; user: number }[]> {
    const rows = await this.query<{ id: string; user_id: string }>(
      'SELECT id, user_id FROM orders ORDER BY random() LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({ id: r.id, user: Number(r.user_id.slice(USER_ID_PREFIX.length)) }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Drops the database, even with connections still open (the service may have died holding some). */
  static async drop(name: string): Promise<void> {
    const client = new Client({ connectionString: `${SERVER_URL}/postgres` });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }

  static async serverVersion(): Promise<string> {
    const client = new Client({ connectionString: `${SERVER_URL}/postgres` });
    await client.connect();
    try {
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return rows[0].server_version;
    } finally {
      await client.end();
    }
  }
}
