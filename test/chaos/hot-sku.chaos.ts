import { ChaosEnv } from './support/chaos-env';
import { placeOrders, statusCounts } from './support/load';
import { CHAOS_SEED, reportFigures, seededRandom, sized } from './support/profile';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * Contention: far more orders than stock, all at once, for one SKU and then for a handful of SKUs with
 * quantities 1–5 in random line order (the pattern that deadlocks naive row locking). Exactly the stock
 * is sold, never more, levels never go negative, and no deadlock surfaces as a 5xx.
 */
describe('chaos: hot SKU', () => {
  const ORDERS = sized(400, 1000);
  const USERS = sized(80, 200);
  const STOCK = sized(40, 100);
  let env: ChaosEnv;

  beforeAll(async () => {
    env = await new ChaosEnv('hot-sku').setUp();
  });
  afterAll(() => env.tearDown());

  async function soldOf(productIds: string[]): Promise<{ sold: number; left: number }> {
    const [row] = await env.ds.query<{ sold: number; left: number }[]>(
      `SELECT coalesce(sum(i.quantity) FILTER (WHERE o.status = 'CONFIRMED'), 0)::int AS sold,
              (SELECT sum(quantity)::int FROM inventory WHERE product_id = ANY($1::uuid[])) AS left
       FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.product_id = ANY($1::uuid[])`,
      [productIds],
    );
    return row;
  }

  it(`${ORDERS} concurrent orders from ${USERS} users for ${STOCK} units, then multi-SKU: exactly the stock sold`, async () => {
    const random = seededRandom(CHAOS_SEED + 8);
    const started = Date.now();
    const api = await env.start('api', { DATABASE_POOL_SIZE: '20' });
    const workers = await Promise.all([env.start('worker'), env.start('worker')]);
    const users = await env.createUsers(USERS);

    const hot = await env.createProduct({ stock: STOCK, price: '5.00' });
    const single = await placeOrders(env, {
      count: ORDERS,
      concurrency: sized(50, 100),
      users,
      apiFor: () => api,
      // A generous client timeout: on a shared 2-core machine a hundred clients in one process queue up.
      timeoutMs: 30_000,
      bodyFor: () => ({ items: [{ productId: hot.id, quantity: 1 }], paymentToken: 'tok_success' }),
    });
    const first = await recoverAndCheck(env, { windowMs: sized(60_000, 120_000) });
    const hotSold = await soldOf([hot.id]);

    const skus = await Promise.all(
      [1, 2, 3, 4, 5].map(() => env.createProduct({ stock: STOCK, price: '3.00' })),
    );
    const multi = await placeOrders(env, {
      count: ORDERS,
      concurrency: sized(50, 100),
      users,
      apiFor: () => api,
      timeoutMs: 30_000,
      bodyFor: () => {
        const lines = skus
          .filter(() => random() < 0.5)
          .map((p) => ({ productId: p.id, quantity: 1 + Math.floor(random() * 5) }))
          .sort(() => random() - 0.5);
        return {
          items: lines.length > 0 ? lines : [{ productId: skus[0].id, quantity: 1 }],
          paymentToken: 'tok_success',
        };
      },
    });
    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 120_000) });
    const multiSold = await soldOf(skus.map((s) => s.id));
    const multiIds = multi.filter((p) => p.id).map((p) => p.id!);
    // A refusal is right only if the final stock could not have filled the order either (every token
    // succeeds, so stock only ever goes down): some line asks for more than is left of its product.
    const fillable = await env.ds.query<{ id: string; reason: string | null }[]>(
      `SELECT o.id, o.failure_reason AS reason FROM orders o
       WHERE o.id = ANY($1::uuid[]) AND o.status = 'CANCELLED'
         AND NOT EXISTS (
           SELECT 1 FROM order_items i JOIN inventory v ON v.product_id = i.product_id
           WHERE i.order_id = o.id AND i.quantity > v.quantity - v.reserved_quantity)`,
      [multiIds],
    );
    const reasons = await env.ds.query<{ reason: string | null; n: number }[]>(
      `SELECT failure_reason AS reason, count(*)::int AS n FROM orders
       WHERE status = 'CANCELLED' GROUP BY failure_reason`,
    );
    const [{ letters }] = await env.ds.query<{ letters: number }[]>(
      `SELECT count(*)::int AS letters FROM dead_letters`,
    );
    const answers = statusCounts([...single, ...multi]);
    const serverErrors = Object.entries(answers).filter(
      ([status]) => Number(status) >= 500 || status === '0',
    );
    reportFigures({
      scenario: 'hot-sku',
      orders: ORDERS * 2,
      kills: 0,
      violations:
        first.invariants.violations + verdict.invariants.violations + verdict.unsettled + serverErrors.length,
      durationMs: Date.now() - started,
      users: USERS,
      stockPerSku: STOCK,
      hotSkuSold: hotSold.sold,
      multiSkuSold: multiSold.sold,
      answers,
      slowestAnswerMs: Math.round(Math.max(...[...single, ...multi].map((p) => p.answer.ms))),
      unanswered: [...single, ...multi]
        .filter((p) => p.answer.status === 0)
        .slice(0, 3)
        .map((p) => p.answer.body),
      outcomes: verdict.outcomes,
      cancelledYetFillable: fillable.length,
      deadLetters: letters,
    });

    expect(serverErrors).toEqual([]);
    expect(hotSold).toEqual({ sold: STOCK, left: 0 });
    expect(multiSold.sold + multiSold.left).toBe(5 * STOCK);
    // Zero sales would pass the line above: every order must be accepted, and every refusal justified.
    expect(statusCounts([...single, ...multi])).toEqual({ 202: 2 * ORDERS });
    expect(fillable).toEqual([]);
    expect(reasons).toEqual([{ reason: 'INSUFFICIENT_STOCK', n: verdict.outcomes.CANCELLED }]);
    expect(verdict.outcomes.CONFIRMED).toBeGreaterThan(0);
    expect(letters).toBe(0);
    expectClean(first);
    expectClean(verdict);
    await Promise.all([api, ...workers].map((p) => p.stop()));
  });
});
