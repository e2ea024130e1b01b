import { randomUUID } from 'node:crypto';
import { ChaosEnv, ChaosUser } from './support/chaos-env';
import { outcomeCounts, placeOrders } from './support/load';
import { CHAOS_SEED, reportFigures, seededRandom, sized } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * Three worker processes (three outbox relays claiming with SKIP LOCKED) while orders pour in, one of
 * them killed -9 now and then — often between publishing a batch to Redis and committing it as
 * published, so the batch is published again by another relay (same job ids). Beside the API, writers
 * commit orders out of creation order (random delays inside their transactions), the classic way a
 * relay that follows a watermark skips rows. Every event is published, every effect happens once.
 */
describe('chaos: three relays, kills between publish and mark, out-of-order commits', () => {
  const ORDERS = sized(200, 1000);
  const SLOW_WRITES = sized(40, 200);
  const KILLS = sized(4, 12);
  let env: ChaosEnv;

  beforeAll(async () => {
    env = await new ChaosEnv('relays', { OUTBOX_BATCH_SIZE: '20' }).setUp();
  });
  afterAll(() => env.tearDown());

  it(`${ORDERS} API orders + ${SLOW_WRITES} slow writers, ${KILLS} kills: 100 % published, each effect once`, async () => {
    const random = seededRandom(CHAOS_SEED + 4);
    const started = Date.now();
    const api = await env.start('api');
    const workers: ServiceProcess[] = await Promise.all([1, 2, 3].map(() => env.start('worker')));
    const users = await env.createUsers(20);
    const product = await env.createProduct({ stock: 100_000, price: '11.00' });

    let done = false;
    let kills = 0;
    const killer = (async () => {
      while (kills < KILLS) {
        await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1200));
        const victim = Math.floor(random() * workers.length);
        await workers[victim].kill();
        kills += 1;
        workers[victim] = await env.start('worker');
        if (done && kills >= KILLS) {
          break;
        }
      }
    })();
    const slowWriters = Promise.all(
      Array.from({ length: 4 }, (_, w) =>
        (async () => {
          for (let i = w; i < SLOW_WRITES; i += 4) {
            await writeOrderSlowly(env, users[i % users.length], product.id, random() * 400);
          }
        })(),
      ),
    );
    const placed = await placeOrders(env, {
      count: ORDERS,
      concurrency: 6,
      users,
      apiFor: () => api,
      bodyFor: () => ({ items: [{ productId: product.id, quantity: 1 }], paymentToken: 'tok_success' }),
    });
    await slowWriters;
    done = true;
    await killer;

    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 180_000) });
    const [outbox] = await env.ds.query<{ total: number; published: number }[]>(
      `SELECT count(*)::int AS total, count(processed_at)::int AS published FROM outbox_events`,
    );
    reportFigures({
      scenario: 'outbox-relays',
      orders: placed.filter((p) => p.id).length + SLOW_WRITES,
      kills,
      violations: verdict.invariants.violations + verdict.unsettled + (outbox.total - outbox.published),
      durationMs: Date.now() - started,
      relays: 3,
      outboxEvents: outbox.total,
      published: outbox.published,
      outcomes: await outcomeCounts(env),
    });

    expect(placed.filter((p) => p.id)).toHaveLength(ORDERS);
    expect(outbox.published).toBe(outbox.total);
    expect(await outcomeCounts(env)).toEqual({ CONFIRMED: ORDERS + SLOW_WRITES });
    expectClean(verdict);
    await Promise.all([api, ...workers].map((p) => p.stop()));
  });
});

/**
 * An order written the way POST /orders writes it, but in a transaction that sleeps before its commit:
 * its outbox row's created_at (transaction start) is older than rows other writers already committed.
 */
async function writeOrderSlowly(
  env: ChaosEnv,
  user: ChaosUser,
  productId: string,
  delayMs: number,
): Promise<void> {
  await env.ds.transaction(async (tx) => {
    const id = randomUUID();
    await tx.query(
      `INSERT INTO orders (id, user_id, status, total_amount, currency, payment_token)
       VALUES ($1, $2, 'PENDING', 11.00, 'USD', 'tok_success')`,
      [id, user.id],
    );
    await tx.query(
      `INSERT INTO order_items (order_id, product_id, sku, product_name, unit_price, quantity, line_total)
       SELECT $1, id, sku, name, price, 1, price FROM products WHERE id = $2`,
      [id, productId],
    );
    await tx.query(
      `INSERT INTO order_status_history (order_id, from_status, to_status, reason) VALUES ($1, NULL, 'PENDING', 'ORDER_PLACED')`,
      [id],
    );
    await tx.query(`SELECT pg_sleep($1::float8 / 1000)`, [delayMs]);
    await tx.query(
      `INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload, created_at)
       VALUES ('order', $1, 'OrderCreated', jsonb_build_object('orderId', $1::uuid, 'userId', $2::uuid), transaction_timestamp())`,
      [id, user.id],
    );
    await tx.query(`SELECT pg_notify('outbox_events', '')`);
  });
}
