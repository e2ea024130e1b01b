import { ChaosEnv } from './support/chaos-env';
import { placeOrders, statusCounts, tokenOutcome, unexpectedOutcomes } from './support/load';
import { expectGatewayLedgerClean, readGatewayLedger } from './support/gateway-ledger';
import { CHAOS_SEED, reportFigures, seededRandom, sized } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * Worker `kill -9` at random moments while orders flow (the API stays up): after each kill a new worker
 * starts, finds the half-done sagas (stalled jobs, stalled sagas, charges whose owner died) and
 * finishes them. Outcomes are scripted by test tokens, so every order has one right ending.
 */
describe('chaos: worker kill -9 during orders', () => {
  const ORDERS = sized(200, 2000);
  const KILLS = sized(5, 24);
  let env: ChaosEnv;

  beforeAll(async () => {
    // The breaker is scenario 6's subject: here it must not turn scripted transient failures into an outage.
    env = await new ChaosEnv('worker-kill', { PAYMENT_BREAKER_VOLUME_THRESHOLD: '10000' }).setUp();
  });
  afterAll(() => env.tearDown());

  it(`${ORDERS} orders, ${KILLS} kills: none stuck, none charged twice, stock conserved`, async () => {
    const random = seededRandom(CHAOS_SEED);
    const started = Date.now();
    const api = await env.start('api');
    let worker = await env.start('worker');
    const users = await env.createUsers(sized(20, 100));
    const plenty = await Promise.all(
      [12, 25, 40].map((price) => env.createProduct({ stock: 100_000, price: `${price}.00` })),
    );
    // Two scarce products, so some orders end CANCELLED (INSUFFICIENT_STOCK) and compensate.
    const scarce = await Promise.all(
      [1, 2].map(() => env.createProduct({ stock: ORDERS / 20, price: '9.00' })),
    );
    const tokens = [
      'tok_success',
      'tok_success',
      'tok_success',
      'tok_success',
      'tok_success',
      'tok_success',
      'tok_success',
      'tok_declined',
      'tok_lost_response',
      'tok_transient_2',
    ];

    // Kill k happens when a random share of the k-th slice of the orders has settled: always mid-flow.
    let kills = 0;
    let loadDone = false;
    const killer = (async () => {
      const thresholds = Array.from({ length: KILLS }, (_, k) =>
        Math.floor((ORDERS * 0.9 * (k + random())) / KILLS),
      );
      while (kills < KILLS) {
        const [{ n }] = await env.ds.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM orders WHERE status IN ('CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED')`,
        );
        if (n >= thresholds[kills] || (loadDone && (await env.unsettled()).length === 0)) {
          await worker.kill();
          kills += 1;
          await new Promise((resolve) => setTimeout(resolve, random() * 500));
          worker = await env.start('worker');
        } else {
          await new Promise((resolve) => setTimeout(resolve, 20 + random() * 80));
        }
      }
    })();

    const placed = await placeOrders(env, {
      count: ORDERS,
      concurrency: 8,
      users,
      apiFor: () => api,
      bodyFor: (i) => ({
        items:
          i % 7 === 0
            ? [
                { productId: scarce[i % 2].id, quantity: 1 + (i % 2) },
                { productId: plenty[0].id, quantity: 1 },
              ]
            : [{ productId: plenty[i % 3].id, quantity: 1 + (i % 3) }],
        paymentToken: tokens[i % tokens.length],
      }),
    });
    loadDone = true;
    await killer;
    const accepted = placed.filter((p) => p.id).map((p) => p.id!);

    // A job held by a worker SIGKILLed twice is failed by BullMQ (STALLED) and dead-lettered; saga recovery
    // settles its order and then resolves the letter: none may stay open (dead_letters_waiting is attention).
    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 180_000) });
    // Each order ends as its token scripts it; an order with a scarce line may instead be refused for stock.
    const isScarce = (p: (typeof placed)[number]) =>
      (p.body.items as { productId: string }[]).some((line) => scarce.some((s) => s.id === line.productId));
    const wrong = await unexpectedOutcomes(env, placed, (p) =>
      isScarce(p) ? [tokenOutcome(p), 'CANCELLED:INSUFFICIENT_STOCK'] : [tokenOutcome(p)],
    );
    const scarceSales = await env.ds.query<{ sold: number; left: number }[]>(
      `SELECT coalesce(sum(i.quantity) FILTER (WHERE o.status = 'CONFIRMED'), 0)::int AS sold,
              min(v.quantity)::int AS left
       FROM inventory v LEFT JOIN order_items i ON i.product_id = v.product_id
       LEFT JOIN orders o ON o.id = i.order_id
       WHERE v.product_id = ANY($1::uuid[]) GROUP BY v.product_id ORDER BY v.product_id`,
      [scarce.map((p) => p.id)],
    );
    const [deadLetters] = await env.ds.query<
      { n: number; stalled: number; resolved: number; open: unknown }[]
    >(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE failure_reason = 'STALLED')::int AS stalled,
              count(*) FILTER (WHERE status = 'RESOLVED')::int AS resolved,
              coalesce(jsonb_agg(jsonb_build_object('queue', queue, 'job', job_name, 'reason', failure_reason,
                'error', left(error, 120))) FILTER (WHERE status = 'OPEN'), '[]') AS open
       FROM dead_letters`,
    );
    const gateway = await readGatewayLedger(env.ds);
    reportFigures({
      scenario: 'worker-kill',
      orders: accepted.length,
      kills,
      violations: verdict.invariants.violations + verdict.unsettled,
      durationMs: Date.now() - started,
      recoveryMs: verdict.recoveryMs,
      answers: statusCounts(placed),
      outcomes: verdict.outcomes,
      wrongOutcomes: wrong.length,
      scarceUnitsSold: scarceSales.map((p) => p.sold),
      deadLetters: deadLetters.n,
      stalledDeadLetters: deadLetters.stalled,
      resolvedDeadLetters: deadLetters.resolved,
      openDeadLetters: deadLetters.open,
      executedCharges: gateway.executedCharges,
      seed: CHAOS_SEED,
    });

    expect(accepted).toHaveLength(ORDERS);
    expect(kills).toBe(KILLS);
    expectClean(verdict);
    expect(wrong).toEqual([]);
    // At least what the tokens script for the plentiful orders; scarce stock is conserved, never oversold.
    const plentiful = placed.filter((p) => !isScarce(p)).map(tokenOutcome);
    const scripted = (outcome: string) => plentiful.filter((o) => o === outcome).length;
    expect(verdict.outcomes.CONFIRMED).toBeGreaterThanOrEqual(scripted('CONFIRMED'));
    expect(verdict.outcomes.PAYMENT_FAILED).toBeGreaterThanOrEqual(scripted('PAYMENT_FAILED'));
    expect(verdict.outcomes.CONFIRMED + verdict.outcomes.PAYMENT_FAILED + verdict.outcomes.CANCELLED).toBe(
      ORDERS,
    );
    expect(verdict.outcomes.CANCELLED).toBeGreaterThan(0);
    expect(scarceSales.map((s) => s.sold + s.left)).toEqual([ORDERS / 20, ORDERS / 20]);
    expectGatewayLedgerClean(gateway);
    await stopAll([api, worker]);
  });
});

async function stopAll(processes: ServiceProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.stop()));
}
