import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createCustomer, createOrder } from '../../../test/factories/order.factory';
import { createProduct } from '../../../test/factories/product.factory';
import { createUserWithToken } from '../../../test/factories/user.factory';
import { parsePrometheusText, sampleValue } from '../../../test/support/prometheus-text';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { MetricsService } from '../metrics/metrics.service';
import { MAX_BATCHES_PER_RULE, RetentionPruner } from './retention.pruner';
import { RetentionRegistry } from './retention.registry';

const DAY = 86_400;

/**
 * The real application's rules (each registered by the module that owns its table) against the real
 * PostgreSQL: rows are backdated around each default retention, one pass runs, and exactly the rows past
 * their retention are gone (or compacted). Batches of 1 make every rule loop.
 */
describe(RetentionPruner.name, () => {
  let app: TestApp;
  let db: DataSource;
  let sut: RetentionPruner;

  beforeAll(async () => {
    app = await startTestApp({ RETENTION_PRUNE_BATCH_SIZE: '1' });
    db = app.dataSource;
    sut = app.get(RetentionPruner);
  });
  afterAll(() => app.close());

  const ids = async (sql: string, params: unknown[]): Promise<string[]> =>
    (await db.query<{ id: string }[]>(sql, params)).map((r) => r.id).sort();

  describe('an idempotency key whose record was pruned', () => {
    it('never makes a second order: the order keeps the key, a late retry is refused', async () => {
      const { user, token } = await createUserWithToken(app);
      const product = await createProduct(db, { stock: 10 });
      const key = randomUUID();
      const place = () =>
        app
          .http()
          .post('/api/v1/orders')
          .set('authorization', `Bearer ${token}`)
          .set('idempotency-key', key)
          .send({ items: [{ productId: product.id, quantity: 1 }] });
      expect((await place()).status).toBe(202);
      await db.query(
        `UPDATE idempotency_records SET expires_at = now() - interval '3 days' WHERE user_id = $1 AND key = $2`,
        [user.id, key],
      );
      await sut.pruneNow();
      const [{ records }] = await db.query<{ records: number }[]>(
        `SELECT count(*)::int AS records FROM idempotency_records WHERE user_id = $1 AND key = $2`,
        [user.id, key],
      );
      expect(records).toBe(0);

      const late = await place();

      expect(late.status).toBe(422);
      expect(late.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      const [{ orders }] = await db.query<{ orders: number }[]>(
        `SELECT count(*)::int AS orders FROM orders WHERE user_id = $1 AND idempotency_key = $2`,
        [user.id, key],
      );
      expect(orders).toBe(1);
    });
  });

  describe('a pass over backdated rows', () => {
    const made: Record<string, Record<string, string>> = {};
    let userId: string;
    let businessOrderId: string;
    let productId: string;

    beforeAll(async () => {
      userId = (await createCustomer(db)).id;
      const insertId = async (sql: string, params: unknown[]): Promise<string> =>
        (await db.query<{ id: string }[]>(sql, params))[0].id;

      // idempotency_records: deleted 24 h after expiry.
      const idem = (expiredSecondsAgo: number) =>
        insertId(
          `INSERT INTO idempotency_records (user_id, key, request_fingerprint, status, expires_at)
           VALUES ($1, $2, repeat('a', 64), 'COMPLETED', now() - make_interval(secs => $3)) RETURNING id`,
          [userId, randomUUID(), expiredSecondsAgo],
        );
      made.idempotency_records = {
        expired25h: await idem(25 * 3600),
        expired23h: await idem(23 * 3600),
        live: await idem(-3600),
      };

      // processed_messages: deleted after INBOX_RETENTION_SECONDS (14 days); the key is the id here.
      const inbox = async (ageSeconds: number) => {
        const id = randomUUID();
        await db.query(
          `INSERT INTO processed_messages (consumer, message_id, processed_at)
           VALUES ('retention-spec', $1, now() - make_interval(secs => $2))`,
          [id, ageSeconds],
        );
        return id;
      };
      made.processed_messages = {
        old15d: await inbox(15 * DAY),
        old13d: await inbox(13 * DAY),
        fresh: await inbox(0),
      };

      // refresh_tokens: deleted 30 days after expiry or revocation.
      const token = (expiresIn: number, revokedAgo: number | null) =>
        insertId(
          `INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, revoked_at)
           VALUES ($1, gen_random_uuid(), encode(sha256(gen_random_uuid()::text::bytea), 'hex'),
                   now() + make_interval(secs => $2), now() - make_interval(secs => $3::int)) RETURNING id`,
          [userId, expiresIn, revokedAgo],
        );
      made.refresh_tokens = {
        expired31d: await token(-31 * DAY, null),
        revoked31d: await token(DAY, 31 * DAY),
        expired29d: await token(-29 * DAY, null),
        revoked29d: await token(DAY, 29 * DAY),
        live: await token(DAY, null),
      };

      // dead_letters: settled ones deleted 30 days after their last change; OPEN ones never.
      const letter = (status: string, ageSeconds: number) =>
        insertId(
          `INSERT INTO dead_letters (queue, job_name, job_id, payload, error, status, created_at, updated_at)
           VALUES ('retention-spec', 'job', $1, '{}'::jsonb, 'boom', $2,
                   now() - make_interval(secs => $3), now() - make_interval(secs => $3)) RETURNING id`,
          [randomUUID(), status, ageSeconds],
        );
      made.dead_letters = {
        discarded31d: await letter('DISCARDED', 31 * DAY),
        replayed31d: await letter('REPLAYED', 31 * DAY),
        resolved31d: await letter('RESOLVED', 31 * DAY),
        resolved29d: await letter('RESOLVED', 29 * DAY),
        discarded29d: await letter('DISCARDED', 29 * DAY),
        open400d: await letter('OPEN', 400 * DAY),
      };

      // A business record set, all 400 days old: an order with a line, a payment, history and stock moves.
      productId = (await createProduct(db, { stock: 5 })).id;
      const order = await createOrder(db, { userId, status: 'CONFIRMED' });
      businessOrderId = order.id;
      await db.query(
        `INSERT INTO order_items (order_id, product_id, sku, product_name, unit_price, quantity, line_total)
         VALUES ($1, $2, 'SKU', 'Thing', 10, 1, 10)`,
        [order.id, productId],
      );
      await db.query(
        `INSERT INTO payments (order_id, kind, status, amount, currency, method, provider, idempotency_key, created_at)
         VALUES ($1, 'CHARGE', 'SUCCEEDED', 10, 'USD', 'credit_card', 'mock', $2, now() - interval '400 days')`,
        [order.id, randomUUID()],
      );
      await db.query(
        `INSERT INTO order_status_history (order_id, from_status, to_status, created_at)
         VALUES ($1, 'PENDING', 'CONFIRMED', now() - interval '400 days')`,
        [order.id],
      );
      await db.query(
        `INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, order_id, actor, created_at)
         VALUES ($1, 'CONFIRM', -1, 0, $2, 'spec', now() - interval '400 days')`,
        [productId, order.id],
      );
      await db.query(`UPDATE orders SET created_at = now() - interval '400 days' WHERE id = $1`, [order.id]);

      // notifications: bodies dropped 90 days after creation (not while QUEUED); the rows stay.
      const notification = (status: string, ageSeconds: number) =>
        insertId(
          `INSERT INTO notifications (user_id, order_id, channel, template, status, recipient, subject, body, dedupe_key, created_at)
           VALUES ($1, $2, 'email', 'order-confirmed', $3, 'a@example.com', 'Subject', '<p>body</p>', $4,
                   now() - make_interval(secs => $5)) RETURNING id`,
          [userId, order.id, status, randomUUID(), ageSeconds],
        );
      made.notifications = {
        sent91d: await notification('SENT', 91 * DAY),
        sent89d: await notification('SENT', 89 * DAY),
        queued91d: await notification('QUEUED', 91 * DAY),
      };

      // saga_state: a finished saga's timeline emptied 90 days after it finished; unfinished ones kept.
      const saga = async (status: string, finishedAgo: number | null) => {
        const sagaOrder = await createOrder(db, { userId, status: 'CONFIRMED' });
        return insertId(
          `INSERT INTO saga_state (order_id, status, step_history, failure_reason, finished_at)
           VALUES ($1, $2, '[{"step": "reserveInventory", "outcome": "succeeded"}]'::jsonb, 'WHY',
                   now() - make_interval(secs => $3::int)) RETURNING id`,
          [sagaOrder.id, status, finishedAgo],
        );
      };
      made.saga_state = {
        completed91d: await saga('COMPLETED', 91 * DAY),
        compensated91d: await saga('COMPENSATED', 91 * DAY),
        completed89d: await saga('COMPLETED', 89 * DAY),
        attention91d: await saga('NEEDS_ATTENTION', 91 * DAY),
      };

      await sut.pruneNow();
    });

    it('deletes idempotency records 24 h after they expired, and no others', async () => {
      const left = await ids(`SELECT id FROM idempotency_records WHERE id = ANY($1)`, [
        Object.values(made.idempotency_records),
      ]);
      expect(left).toEqual([made.idempotency_records.expired23h, made.idempotency_records.live].sort());
    });

    it('deletes inbox rows past the inbox retention; a fresh and a younger one stay', async () => {
      const left = await ids(`SELECT message_id AS id FROM processed_messages WHERE message_id = ANY($1)`, [
        Object.values(made.processed_messages),
      ]);
      expect(left).toEqual([made.processed_messages.old13d, made.processed_messages.fresh].sort());
    });

    it('deletes refresh tokens 30 days after expiry or revocation', async () => {
      const t = made.refresh_tokens;
      const left = await ids(`SELECT id FROM refresh_tokens WHERE id = ANY($1)`, [Object.values(t)]);
      expect(left).toEqual([t.expired29d, t.revoked29d, t.live].sort());
    });

    it('deletes settled dead letters after 30 days; an open one stays however old', async () => {
      const d = made.dead_letters;
      const left = await ids(`SELECT id FROM dead_letters WHERE id = ANY($1)`, [Object.values(d)]);
      expect(left).toEqual([d.discarded29d, d.resolved29d, d.open400d].sort());
    });

    it('drops notification bodies after 90 days, keeps every record and a queued body', async () => {
      const n = made.notifications;
      const rows = await db.query<{ id: string; body: string | null; subject: string }[]>(
        `SELECT id, body, subject FROM notifications WHERE id = ANY($1)`,
        [Object.values(n)],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.size).toBe(3);
      expect(byId.get(n.sent91d)).toMatchObject({ body: null, subject: 'Subject' });
      expect(byId.get(n.sent89d)?.body).toBe('<p>body</p>');
      expect(byId.get(n.queued91d)?.body).toBe('<p>body</p>');
    });

    it("empties finished sagas' timelines after 90 days and keeps their outcome", async () => {
      const s = made.saga_state;
      const rows = await db.query<{ id: string; status: string; history: unknown[]; reason: string }[]>(
        `SELECT id, status, step_history AS history, failure_reason AS reason FROM saga_state WHERE id = ANY($1)`,
        [Object.values(s)],
      );
      const historyOf = Object.fromEntries(rows.map((r) => [r.id, r.history.length]));
      expect(historyOf).toEqual({
        [s.completed91d]: 0,
        [s.compensated91d]: 0,
        [s.completed89d]: 1,
        [s.attention91d]: 1,
      });
      expect(rows.map((r) => r.reason)).toEqual(['WHY', 'WHY', 'WHY', 'WHY']);
    });

    it('never touches business records', async () => {
      const [row] = await db.query<Record<string, number>[]>(
        `SELECT (SELECT count(*) FROM orders WHERE id = $1)::int AS orders,
                (SELECT count(*) FROM order_items WHERE order_id = $1)::int AS items,
                (SELECT count(*) FROM payments WHERE order_id = $1)::int AS payments,
                (SELECT count(*) FROM order_status_history WHERE order_id = $1)::int AS history,
                (SELECT count(*) FROM stock_movements WHERE order_id = $1)::int AS movements,
                (SELECT count(*) FROM products WHERE id = $2)::int AS products`,
        [businessOrderId, productId],
      );
      expect(row).toEqual({ orders: 1, items: 1, payments: 1, history: 1, movements: 1, products: 1 });
    });

    it('counts pruned rows per table and samples table sizes', async () => {
      const samples = parsePrometheusText(await app.get(MetricsService).registry.metrics());
      expect(sampleValue(samples, 'aop_pruned_rows_total', { table: 'dead_letters' })).toBeGreaterThanOrEqual(
        3,
      );
      for (const table of ['refresh_tokens', 'saga_state']) {
        expect(sampleValue(samples, 'aop_pruned_rows_total', { table })).toBeGreaterThanOrEqual(2);
      }
      for (const table of ['idempotency_records', 'processed_messages', 'notifications']) {
        expect(sampleValue(samples, 'aop_pruned_rows_total', { table })).toBeGreaterThanOrEqual(1);
      }
      expect(sampleValue(samples, 'aop_table_bytes', { table: 'orders' })).toBeGreaterThan(0);
    });
  });

  // Last: the rules registered here stay in the application's registry.
  describe('batching and failures', () => {
    it('runs a rule batch after batch up to the cap, and a failing rule stops neither the others nor the pass', async () => {
      const batches: number[] = [];
      const registry = app.get(RetentionRegistry);
      registry.register({
        table: 'spec_failing',
        pruneBatch: () => Promise.reject(new Error('boom')),
      });
      registry.register({
        table: 'spec_endless',
        pruneBatch: (limit) => {
          batches.push(limit);
          return Promise.resolve(limit);
        },
      });

      await expect(sut.pruneNow()).rejects.toThrow('boom');

      // Batch size 1 (RETENTION_PRUNE_BATCH_SIZE) and always a full batch: the pass stops at the cap.
      expect(batches).toEqual(Array(MAX_BATCHES_PER_RULE).fill(1));
      const samples = parsePrometheusText(await app.get(MetricsService).registry.metrics());
      expect(sampleValue(samples, 'aop_pruned_rows_total', { table: 'spec_endless' })).toBe(
        MAX_BATCHES_PER_RULE,
      );
      expect(sampleValue(samples, 'aop_pruned_rows_total', { table: 'spec_failing' })).toBe(0);
    });
  });
});
