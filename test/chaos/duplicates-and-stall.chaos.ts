import { Queue } from 'bullmq';
import { RedisClient } from '../../src/platform/redis/redis-connection';
import { OUTBOX_ROUTES } from '../../src/platform/outbox/outbox-routes';
import { DomainEventType } from '../../src/platform/outbox/domain-events';
import { ChaosEnv } from './support/chaos-env';
import { placeOrders, tokenOutcome, unexpectedOutcomes } from './support/load';
import { CHAOS_SEED, reportFigures, seededRandom, sized } from './support/profile';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * At-least-once delivery taken literally: every job the relay publishes (saga steps, charges,
 * refunds, notifications) is delivered again 2–5 times with new job ids and the same event, straight
 * into BullMQ, while one of two workers is frozen (SIGSTOP) past its job locks so the other takes its
 * jobs over and the frozen one, woken, finishes them too. Every effect happens once.
 */
describe('chaos: duplicate deliveries and a forced stall', () => {
  const ORDERS = sized(150, 1000);
  let env: ChaosEnv;
  let redis: RedisClient;
  const queues = new Map<string, Queue>();

  beforeAll(async () => {
    env = await new ChaosEnv('duplicates').setUp();
    redis = env.redisConnection();
  });
  afterAll(async () => {
    await Promise.all([...queues.values()].map((q) => q.close()));
    redis.disconnect();
    await env.tearDown();
  });

  function queue(name: string): Queue {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: redis, prefix: env.queuePrefixOf(name) });
      queues.set(name, q);
    }
    return q;
  }

  it(`${ORDERS} orders, each job delivered 2–5 times, a worker frozen past its locks: one effect each`, async () => {
    const random = seededRandom(CHAOS_SEED + 7);
    const started = Date.now();
    const api = await env.start('api');
    const workers = await Promise.all([env.start('worker'), env.start('worker')]);
    const users = await env.createUsers(20);
    const product = await env.createProduct({ stock: 100_000, price: '13.00' });
    const scarce = await env.createProduct({ stock: ORDERS / 10, price: '7.00' });

    const duplicated = new Set<string>();
    let extraDeliveries = 0;
    let stop = false;
    const duplicator = (async () => {
      while (!stop) {
        const rows = await env.ds.query<
          {
            id: string;
            event_type: DomainEventType;
            schema_version: number;
            payload: unknown;
            correlation_id: string | null;
            aggregate_id: string;
          }[]
        >(
          `SELECT id, event_type, schema_version, payload, correlation_id, aggregate_id FROM outbox_events
           WHERE processed_at IS NOT NULL AND NOT (id = ANY($1::uuid[])) ORDER BY processed_at LIMIT 200`,
          [[...duplicated]],
        );
        for (const row of rows) {
          duplicated.add(row.id);
          const route = OUTBOX_ROUTES[row.event_type];
          if (!route) {
            continue;
          }
          const data = {
            eventId: row.id,
            eventType: row.event_type,
            schemaVersion: row.schema_version,
            payload: row.payload,
            correlationId: row.correlation_id,
            aggregateId: row.aggregate_id,
          };
          const copies = 2 + Math.floor(random() * 4) - 1; // the relay's own delivery is the first
          await queue(route.queue).addBulk(
            Array.from({ length: copies }, (_, k) => ({
              name: route.job,
              data,
              opts: {
                ...route.options,
                jobId: `${row.id}-dup-${k}`,
                attempts: 5,
                backoff: { type: 'exponential', delay: 300 },
              },
            })),
          );
          extraDeliveries += copies;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    let frozen: Promise<void> | undefined;
    let answered = 0;
    const placed = await placeOrders(env, {
      count: ORDERS,
      concurrency: 6,
      users,
      apiFor: () => api,
      bodyFor: (i) => ({
        items: [{ productId: i % 5 === 0 ? scarce.id : product.id, quantity: 1 + (i % 3) }],
        paymentToken: i % 9 === 0 ? 'tok_declined' : 'tok_success',
      }),
      onAnswer: () => {
        answered += 1;
        if (!frozen && answered > ORDERS / 3) {
          // Past the lock (3 s) and two stalled-job checks (1 s): the other worker takes the jobs over.
          frozen = workers[0].freeze(6_000);
        }
      },
    });
    await frozen;

    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 180_000) });
    stop = true;
    await duplicator;
    const [{ letters }] = await env.ds.query<{ letters: number }[]>(
      `SELECT count(*)::int AS letters FROM dead_letters`,
    );
    // Each order ends as its token scripts it; an order for the scarce product may instead be refused for stock.
    const wrong = await unexpectedOutcomes(env, placed, (p) =>
      (p.body.items as { productId: string }[])[0].productId === scarce.id
        ? [tokenOutcome(p), 'CANCELLED:INSUFFICIENT_STOCK']
        : [tokenOutcome(p)],
    );
    const [scarceStock] = await env.ds.query<{ sold: number; left: number }[]>(
      `SELECT coalesce((SELECT sum(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id
                        WHERE i.product_id = $1 AND o.status = 'CONFIRMED'), 0)::int AS sold,
              (SELECT quantity FROM inventory WHERE product_id = $1) AS left`,
      [scarce.id],
    );
    reportFigures({
      scenario: 'duplicates-and-stall',
      orders: placed.filter((p) => p.id).length,
      kills: 1,
      violations: verdict.invariants.violations + verdict.unsettled,
      durationMs: Date.now() - started,
      eventsDuplicated: duplicated.size,
      extraDeliveries,
      deadLetters: letters,
      outcomes: verdict.outcomes,
      wrongOutcomes: wrong.length,
    });

    expect(frozen).toBeDefined();
    expect(extraDeliveries).toBeGreaterThan(ORDERS * 2);
    expectClean(verdict);
    expect(wrong).toEqual([]);
    const plentiful = placed.filter(
      (p) => (p.body.items as { productId: string }[])[0].productId !== scarce.id,
    );
    expect(verdict.outcomes.PAYMENT_FAILED).toBeGreaterThanOrEqual(
      plentiful.filter((p) => tokenOutcome(p) === 'PAYMENT_FAILED').length,
    );
    expect(verdict.outcomes.CONFIRMED).toBeGreaterThanOrEqual(
      plentiful.filter((p) => tokenOutcome(p) === 'CONFIRMED').length,
    );
    expect(scarceStock.sold + scarceStock.left).toBe(ORDERS / 10);
    expect(letters).toBe(0);
    await Promise.all([api, ...workers].map((p) => p.stop()));
  });
});
