import { ChaosEnv } from './support/chaos-env';
import { expectGatewayLedgerClean, readGatewayLedger } from './support/gateway-ledger';
import { outcomeCounts, placeOrders, statusCounts } from './support/load';
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

    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 180_000) });
    const [deadLetters] = await env.ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM dead_letters`);
    const gateway = await readGatewayLedger(env.ds);
    reportFigures({
      scenario: 'worker-kill',
      orders: accepted.length,
      kills,
      violations: verdict.invariants.violations + verdict.unsettled,
      durationMs: Date.now() - started,
      recoveryMs: verdict.recoveryMs,
      answers: statusCounts(placed),
      outcomes: await outcomeCounts(env),
      deadLetters: deadLetters.n,
      executedCharges: gateway.executedCharges,
      seed: CHAOS_SEED,
    });

    expect(accepted).toHaveLength(ORDERS);
    expect(kills).toBe(KILLS);
    expectClean(verdict);
    expectGatewayLedgerClean(gateway);
    await stopAll([api, worker]);
  });
});

async function stopAll(processes: ServiceProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.stop()));
}
