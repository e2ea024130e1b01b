import { ChaosEnv } from './support/chaos-env';
import { outcomeCounts, placeOrders, statusCounts } from './support/load';
import { OwnNginx } from './support/own-redis';
import { CHAOS_SEED, reportFigures, seededRandom, sized } from './support/profile';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * The scale-out topology: nginx (the configuration of ops/nginx/) in front of two API processes, two
 * worker processes. One API is SIGKILLed in the middle of a burst and not restarted: nginx sends the
 * next requests to the other, clients whose request died in the killed one get a 502 and retry through
 * nginx with the same Idempotency-Key. Every order exists exactly once and settles.
 */
describe('chaos: two APIs behind nginx, two workers', () => {
  const ORDERS = sized(200, 1000);
  const random = seededRandom(CHAOS_SEED + 14);
  let env: ChaosEnv;
  const nginx = new OwnNginx();

  beforeAll(async () => {
    env = await new ChaosEnv('nginx-scale', { TRUST_PROXY: 'true' }).setUp();
  });
  afterAll(async () => {
    await nginx.down();
    await env.tearDown();
    nginx.cleanUp();
  });

  it(`${ORDERS} orders through nginx, one API SIGKILLed mid-burst: each order exactly once, all settle`, async () => {
    const started = Date.now();
    const apis = [await env.start('api'), await env.start('api')];
    const workers = [await env.start('worker'), await env.start('worker')];
    await nginx.up(apis.map((a) => a.env.PORT));
    const users = await env.createUsers(20);
    const product = await env.createProduct({ stock: 1_000_000, price: '9.50' });

    // The request id goes through nginx both ways: the client's own, or nginx's when it sent none.
    const given = await env.request(nginx.url, 'GET', '/api/v1/health/live', {
      headers: { 'x-request-id': 'chaos-request-1' },
    });
    const generated = await env.request(nginx.url, 'GET', '/api/v1/health/live');
    expect(given.headers.get('x-correlation-id')).toBe('chaos-request-1');
    expect(generated.headers.get('x-correlation-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(generated.headers.get('x-request-id')).toBe(generated.headers.get('x-correlation-id'));

    let answered = 0;
    const killAt = Math.floor(ORDERS * (0.25 + 0.3 * random()));
    const load = placeOrders(env, {
      count: ORDERS,
      concurrency: 16,
      users,
      apiFor: () => nginx.url,
      bodyFor: (i) => ({
        items: [{ productId: product.id, quantity: 1 + (i % 2) }],
        paymentToken: 'tok_success',
      }),
      retryForMs: 30_000,
      onAnswer: () => (answered += 1),
    });
    while (answered < killAt) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await apis[0].kill();
    const killedAt = Date.now();
    const placed = await load;
    const acknowledged = placed.filter((p) => p.id);

    const replays = await Promise.all(
      acknowledged
        .slice(0, 50)
        .map((p) => env.placeOrder(nginx.url, p.user, p.body, { idempotencyKey: p.idempotencyKey })),
    );
    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 120_000) });
    const [{ orders }] = await env.ds.query<{ orders: number }[]>(
      `SELECT count(*)::int AS orders FROM orders`,
    );
    const log = nginx.accessLog();
    const upstreams = new Set([...log.matchAll(/upstream=127\.0\.0\.1:(\d+)/g)].map((m) => m[1]));
    reportFigures({
      scenario: 'nginx-two-apis-api-kill',
      orders: acknowledged.length,
      kills: 1,
      violations: verdict.invariants.violations + verdict.unsettled + (orders - acknowledged.length),
      durationMs: Date.now() - started,
      killAfterAnswers: killAt,
      requestsRetriedThroughNginx: placed.filter((p) => p.earlier.length > 0).length,
      retriedAnswers: placed
        .flatMap((p) => p.earlier)
        .reduce<Record<number, number>>((acc, s) => {
          acc[s] = (acc[s] ?? 0) + 1;
          return acc;
        }, {}),
      answers: statusCounts(placed),
      outcomes: await outcomeCounts(env),
      upstreamsUsed: [...upstreams],
      killedAtMs: killedAt - started,
    });

    expect(statusCounts(placed)).toEqual({ 202: ORDERS });
    expect(orders).toBe(ORDERS);
    expect(new Set(acknowledged.map((p) => p.id)).size).toBe(ORDERS);
    expect(await outcomeCounts(env)).toEqual({ CONFIRMED: ORDERS });
    expect(
      replays.map((r) => ({
        status: r.status,
        id: r.body.id,
        replayed: r.headers.get('idempotent-replayed'),
      })),
    ).toEqual(acknowledged.slice(0, 50).map((p) => ({ status: 202, id: p.id, replayed: 'true' })));
    // Both APIs served orders before the kill; the survivor served everything after it.
    expect([...upstreams].sort()).toEqual(apis.map((a) => a.env.PORT).sort());
    expect(apis[1].alive && workers.every((w) => w.alive)).toBe(true);
    expectClean(verdict);
    await Promise.all([apis[1].stop(), ...workers.map((w) => w.stop())]);
  });
});
