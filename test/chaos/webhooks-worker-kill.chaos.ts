import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { WebhookReceiver } from '../support/webhook-receiver';
import { ChaosEnv } from './support/chaos-env';
import { placeOrders } from './support/load';
import { CHAOS_SEED, reportFigures, seededRandom, sized } from './support/profile';
import { expectClean, recoverAndCheck } from './support/verdict';

/**
 * Workers `kill -9` while webhook deliveries are in flight (the receiver answers late, and 500 now and
 * then): every announced event reaches every subscribed endpoint at least once, signed so that the
 * `standardwebhooks` package verifies it, and the product checker (webhooks_delivered included) is clean.
 */
describe('chaos: worker kill -9 during webhook deliveries', () => {
  const ORDERS = sized(60, 600);
  const KILLS = sized(4, 12);
  const receiver = new WebhookReceiver();
  let env: ChaosEnv;

  beforeAll(async () => {
    env = await new ChaosEnv('webhook-kill', {
      WEBHOOK_ALLOW_INSECURE: 'true',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '200ms,300ms,500ms,1s,1s,2s,2s,3s,3s,5s',
      WEBHOOK_DISPATCH_INTERVAL_MS: '100',
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_LEASE_MS: '4000',
      PAYMENT_BREAKER_VOLUME_THRESHOLD: '10000',
    }).setUp();
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
    await env.tearDown();
  });

  it(`${ORDERS} orders, ${KILLS} worker kills mid-delivery: every event delivered to every endpoint`, async () => {
    const random = seededRandom(CHAOS_SEED);
    const started = Date.now();
    // Late answers keep attempts in flight when the worker dies; one in ten fails and is retried.
    receiver.respond = async () => {
      await sleep(random() * 150);
      return random() < 0.1 ? 500 : 200;
    };
    const api = await env.start('api');
    let worker = await env.start('worker');
    const admin = await env.createAdmin();
    const register = async (path: string, events: string[]) => {
      const res = await env.request(api, 'POST', '/api/v1/webhooks/endpoints', {
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: { url: `${receiver.url}${path}`, events },
      });
      expect(res.status).toBe(201);
      return { path, events, secret: res.body.secret as string };
    };
    const endpoints = [
      await register('/erp', ['order.created', 'order.confirmed', 'order.payment_failed']),
      await register('/crm', ['order.confirmed', 'order.cancelled', 'order.payment_failed']),
    ];
    const users = await env.createUsers(10);
    const products = await Promise.all(
      [10, 20].map((price) => env.createProduct({ stock: 100_000, price: `${price}.00` })),
    );
    const tokens = ['tok_success', 'tok_success', 'tok_success', 'tok_declined'];

    let kills = 0;
    let loadDone = false;
    const killer = (async () => {
      const thresholds = Array.from({ length: KILLS }, (_, k) =>
        Math.floor((ORDERS * 1.5 * (k + random())) / KILLS),
      );
      while (kills < KILLS) {
        const [{ n }] = await env.ds.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded'`,
        );
        const inFlight = receiver.received.length > 0;
        if ((n >= thresholds[kills] && inFlight) || loadDone) {
          await worker.kill();
          kills += 1;
          await sleep(random() * 500);
          worker = await env.start('worker');
        } else {
          await sleep(20 + random() * 80);
        }
      }
    })();

    const placed = await placeOrders(env, {
      count: ORDERS,
      concurrency: 4,
      users,
      apiFor: () => api,
      bodyFor: (i) => ({
        items: [{ productId: products[i % 2].id, quantity: 1 }],
        paymentToken: tokens[i % tokens.length],
      }),
    });
    loadDone = true;
    await killer;
    expect(placed.filter((p) => p.id)).toHaveLength(ORDERS);
    await env.recover(sized(60_000, 180_000));

    // Every announced event of a subscribed type, per endpoint, as the outbox holds them.
    const expected = async () =>
      env.ds.query<{ event_id: string; type: string }[]>(
        `SELECT id AS event_id, CASE WHEN event_type = 'OrderCreated' THEN 'order.created'
                ELSE 'order.' || lower(payload->>'to') END AS type
         FROM outbox_events WHERE event_type IN ('OrderCreated', 'OrderStatusChanged')`,
      );
    const missing = () =>
      expected().then((events) =>
        endpoints.flatMap((endpoint) =>
          events
            .filter((e) => endpoint.events.includes(e.type))
            .filter(
              (e) =>
                !receiver.for(endpoint.path).some((r) => r.headers['webhook-id'] === `msg_${e.event_id}`),
            )
            .map((e) => `${endpoint.path} ${e.type} ${e.event_id}`),
        ),
      );
    const deadline = Date.now() + sized(60_000, 180_000);
    let left = await missing();
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(250);
      left = await missing();
    }
    expect(left).toEqual([]);
    const [pending] = await env.ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'succeeded'`,
    );
    const settleDeadline = Date.now() + 30_000;
    while (pending.n > 0 && Date.now() < settleDeadline) {
      await sleep(250);
      [pending.n] = (
        await env.ds.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'succeeded'`,
        )
      ).map((r) => r.n);
    }

    for (const endpoint of endpoints) {
      const verifier = new Webhook(endpoint.secret);
      for (const request of receiver.for(endpoint.path)) {
        // A late retry may carry a timestamp older than the package's 5-minute tolerance only in the long profile.
        verifier.verify(request.body, request.headers);
      }
    }
    const verdict = await recoverAndCheck(env, {
      windowMs: 10_000,
      allowAttention: ['dead_letters_waiting'],
    });
    const events = await expected();
    const ids = receiver.received.map((r) => `${r.path} ${r.headers['webhook-id']}`);
    reportFigures({
      scenario: 'webhooks-worker-kill',
      orders: ORDERS,
      kills,
      violations: verdict.invariants.violations + verdict.unsettled,
      durationMs: Date.now() - started,
      events: events.length,
      requests: receiver.received.length,
      redelivered: ids.length - new Set(ids).size,
      notSucceeded: pending.n,
      seed: CHAOS_SEED,
    });
    expect(kills).toBe(KILLS);
    expect(pending.n).toBe(0);
    expectClean(verdict);
    await Promise.all([api.stop(), worker.stop()]);
  });
});
