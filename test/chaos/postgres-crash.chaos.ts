import { ChaosEnv, ChaosUser } from './support/chaos-env';
import { PlacedOrder } from './support/load';
import { OwnPostgres } from './support/own-postgres';
import { reportFigures, sized } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * PostgreSQL crashes (`pg_ctl -m immediate`) under load and comes back: the API answers fast 503s while
 * it is down (never a hang past 5 s), no order it acknowledged is lost, and the same API and worker
 * processes — no restart — serve and process again once their pools reconnect.
 */
describe('chaos: PostgreSQL stopped under load', () => {
  const ORDERS = sized(150, 1000);
  const OUTAGES = sized(1, 3);
  const OUTAGE_MS = sized(5_000, 15_000);
  const pg = new OwnPostgres(3495);
  let env: ChaosEnv;

  beforeAll(async () => {
    pg.init();
    pg.start();
    env = await new ChaosEnv('pg-crash', {}, pg.url).setUp();
  });
  afterAll(async () => {
    await env.tearDown().catch(() => undefined);
    pg.destroy();
  });

  it(`${ORDERS} orders through ${OUTAGES} PostgreSQL crash(es): fast 503s, nothing acknowledged lost, pools recover`, async () => {
    const started = Date.now();
    const api = await env.start('api');
    const worker = await env.start('worker');
    const [apiPid, workerPid] = [api.pid, worker.pid];
    const users = await env.createUsers(10);
    const product = await env.createProduct({ stock: 100_000, price: '8.00' });

    const placed: PlacedOrder[] = [];
    const load = paced(
      env,
      api,
      users,
      product.id,
      ORDERS,
      (OUTAGES * (OUTAGE_MS + 4000) + 4000) / ORDERS,
      placed,
    );
    const downWindows: { from: number; to: number }[] = [];
    for (let i = 0; i < OUTAGES; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      pg.crash();
      const from = Date.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      pg.start();
      downWindows.push({ from, to: Date.now() });
    }
    await load;

    // The pools come back by themselves: the same processes accept and finish orders again.
    const afterwards = await env.placeOrder(api, users[0], {
      items: [{ productId: product.id, quantity: 1 }],
      paymentToken: 'tok_success',
    });
    const acknowledged = [...placed.filter((p) => p.id).map((p) => p.id!), afterwards.body.id as string];
    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 120_000) });
    const [{ found }] = await env.ds.query<{ found: number }[]>(
      `SELECT count(*)::int AS found FROM orders WHERE id = ANY($1::uuid[])`,
      [acknowledged],
    );
    const duringOutage = placed.filter((p) =>
      downWindows.some((w) => p.sentAt! >= w.from && p.sentAt! <= w.to),
    );
    const slow = placed.filter((p) => p.answer.ms > 5000 || p.answer.status === 0);
    const wrong = placed.filter((p) => ![202, 503].includes(p.answer.status));
    reportFigures({
      scenario: 'postgres-crash',
      orders: acknowledged.length,
      kills: OUTAGES,
      violations:
        verdict.invariants.violations +
        verdict.unsettled +
        (acknowledged.length - found) +
        slow.length +
        wrong.length,
      durationMs: Date.now() - started,
      outageMs: OUTAGE_MS,
      sentDuringOutage: duringOutage.length,
      answered503: placed.filter((p) => p.answer.status === 503).length,
      slowestAnswerMs: Math.round(Math.max(...placed.map((p) => p.answer.ms))),
      lostAcknowledged: acknowledged.length - found,
      outcomes: verdict.outcomes,
    });

    expect(duringOutage.length).toBeGreaterThan(0);
    expect(duringOutage.filter((p) => p.answer.status === 503).length).toBeGreaterThan(0);
    expect(slow.map((p) => [p.answer.status, Math.round(p.answer.ms)])).toEqual([]);
    expect(wrong.map((p) => [p.answer.status, p.answer.body])).toEqual([]);
    expect(afterwards.status).toBe(202);
    expect(found).toBe(acknowledged.length);
    // Succeeding tokens, plentiful stock: every order that exists (an answer lost in the crash may still
    // have committed one) ends CONFIRMED.
    const [{ orders }] = await env.ds.query<{ orders: number }[]>(
      `SELECT count(*)::int AS orders FROM orders`,
    );
    expect(orders).toBeGreaterThanOrEqual(acknowledged.length);
    expect(verdict.outcomes).toEqual({ CONFIRMED: orders });
    expect([api.pid, worker.pid, api.alive, worker.alive]).toEqual([apiPid, workerPid, true, true]);
    expectClean(verdict);
    await Promise.all([api.stop(), worker.stop()]);
  });
});

async function paced(
  env: ChaosEnv,
  api: ServiceProcess,
  users: ChaosUser[],
  productId: string,
  count: number,
  paceMs: number,
  placed: (PlacedOrder & { sentAt?: number })[],
): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const user = users[i % users.length];
    const body = { items: [{ productId, quantity: 1 }], paymentToken: 'tok_success' };
    const sentAt = Date.now();
    pending.push(
      env.placeOrder(api, user, body, { timeoutMs: 15_000 }).then((answer) => {
        placed.push({
          user,
          idempotencyKey: '',
          body,
          answer,
          earlier: [],
          sentAt,
          id: answer.status === 202 ? (answer.body.id as string) : undefined,
        });
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, paceMs));
  }
  await Promise.all(pending);
}
