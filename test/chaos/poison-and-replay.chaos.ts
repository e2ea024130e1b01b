import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { RedisClient } from '../../src/platform/redis/redis-connection';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-names';
import { eventually } from '../support/eventually';
import { ChaosEnv } from './support/chaos-env';
import { reportFigures, sized } from './support/profile';
import { expectClean, recoverAndCheck } from './support/verdict';

interface Letter {
  id: string;
  job_name: string;
  failure_reason: string;
  attempts: number;
  status: string;
  replay_count: number;
  order_id: string | null;
}

/**
 * Poison and its antidote. A permanent failure (a charge for an order that does not exist) is dead-lettered
 * after one attempt; a message that fails every time (a malformed order id) after the configured five;
 * charges that fail through a gateway outage exhaust their attempts too. After the outage an admin
 * replays them: each is processed once (one capture per order), and a second replay changes nothing.
 * Stalled-saga recovery is slowed right down so only the replay can finish these orders.
 */
describe('chaos: poison messages, dead letters and replay', () => {
  const ORDERS = sized(10, 100);
  const outageFile = join(mkdtempSync(join(tmpdir(), 'aop-chaos-poison-')), 'down');
  let env: ChaosEnv;
  let redis: RedisClient;

  beforeAll(async () => {
    env = await new ChaosEnv('poison', {
      PAYMENT_OUTAGE_FILE: outageFile,
      PAYMENT_BREAKER_VOLUME_THRESHOLD: '10000',
      SAGA_STALL_SECONDS: '3600',
    }).setUp();
    redis = env.redisConnection();
  });
  afterAll(async () => {
    rmSync(outageFile, { force: true });
    redis.disconnect();
    await env.tearDown();
  });

  const letters = () =>
    env.ds.query<Letter[]>(
      `SELECT id, job_name, failure_reason, attempts, status, replay_count, payload->'payload'->>'orderId' AS order_id
       FROM dead_letters ORDER BY created_at`,
    );

  async function waitForLetters(count: number): Promise<Letter[]> {
    return eventually(
      async () => {
        const rows = await letters();
        return rows.length >= count && rows;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `${count} dead letters` },
    );
  }

  it(`poison → dead letters after the configured attempts; ${ORDERS} replays process once; a second replay has no effect`, async () => {
    const started = Date.now();
    const api = await env.start('api');
    const worker = await env.start('worker');
    const admin = await env.createAdmin();
    const users = await env.createUsers(5);
    const product = await env.createProduct({ stock: 1000, price: '17.00' });

    const ghostOrder = randomUUID();
    const job = (eventType: string, orderId: string) => ({
      eventId: randomUUID(),
      eventType,
      schemaVersion: 1,
      payload: { orderId, amount: '1.00', currency: 'USD', method: 'credit_card' },
      correlationId: null,
      aggregateId: orderId,
    });
    const payments = new Queue(QUEUES.paymentProcessing, {
      connection: redis,
      prefix: env.queuePrefixOf(QUEUES.paymentProcessing),
    });
    const orders = new Queue(QUEUES.orderProcessing, {
      connection: redis,
      prefix: env.queuePrefixOf(QUEUES.orderProcessing),
    });
    await payments.add(JOBS[QUEUES.paymentProcessing].chargePayment, job('PaymentRequested', ghostOrder), {
      attempts: 5,
      backoff: { type: 'exponential', delay: 300 },
    });
    await orders.add(JOBS[QUEUES.orderProcessing].advanceSaga, job('OrderCreated', 'not-a-uuid'), {
      attempts: 5,
      backoff: { type: 'exponential', delay: 300 },
    });
    await Promise.all([payments.close(), orders.close()]);

    writeFileSync(outageFile, '');
    const placed = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) =>
        env.placeOrder(api, users[i % users.length], {
          items: [{ productId: product.id, quantity: 1 }],
          paymentToken: 'tok_success',
        }),
      ),
    );
    const orderIds = placed.map((p) => p.body.id as string);
    const dead = await waitForLetters(ORDERS + 2);
    rmSync(outageFile);

    const byOrder = new Map(dead.map((l) => [l.order_id, l]));
    const poisonPermanent = byOrder.get(ghostOrder)!;
    const poisonTransient = byOrder.get('not-a-uuid')!;
    const charges = orderIds.map((id) => byOrder.get(id)!);
    expect(poisonPermanent).toMatchObject({ failure_reason: 'PERMANENT_FAILURE', attempts: 1 });
    expect(poisonTransient).toMatchObject({ failure_reason: 'ATTEMPTS_EXHAUSTED', attempts: 5 });
    expect(
      charges.map((l) => l && { reason: l.failure_reason, attempts: l.attempts, job: l.job_name }),
    ).toEqual(orderIds.map(() => ({ reason: 'ATTEMPTS_EXHAUSTED', attempts: 5, job: 'charge-payment' })));

    const replay = (id: string) =>
      env.request(api, 'POST', `/api/v1/admin/dead-letters/${id}/replay`, {
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: {},
      });
    const firstReplays = await Promise.all(charges.map((l) => replay(l.id)));
    expect(firstReplays.map((r) => r.status)).toEqual(charges.map(() => 202));
    // The poison's letters stay OPEN on purpose: the checker lists them (attention), and that is expected here.
    const firstSettle = await recoverAndCheck(env, {
      windowMs: 60_000,
      orderIds,
      allowAttention: ['dead_letters_waiting'],
    });
    const capturesAfterFirst = await capturesOf(env, orderIds);

    const secondReplays = await Promise.all(charges.map((l) => replay(l.id)));
    // The permanent poison, replayed unchanged, fails once more and is dead-lettered again — no loop.
    expect((await replay(poisonPermanent.id)).status).toBe(202);
    const after = await waitForLetters(ORDERS + 3);
    const verdict = await recoverAndCheck(env, {
      windowMs: 30_000,
      orderIds,
      allowAttention: ['dead_letters_waiting'],
    });

    reportFigures({
      scenario: 'poison-and-replay',
      orders: ORDERS,
      kills: 0,
      violations: verdict.invariants.violations + verdict.unsettled,
      durationMs: Date.now() - started,
      deadLetters: after.length,
      replayed: firstReplays.length,
      secondReplaysRefused: secondReplays.filter((r) => r.status === 409).length,
      outcomes: verdict.outcomes,
    });

    expect(firstSettle.unsettled).toBe(0);
    expect(capturesAfterFirst).toEqual(orderIds.map(() => 1));
    expect(secondReplays.map((r) => [r.status, r.body.code])).toEqual(
      charges.map(() => [409, 'DEAD_LETTER_NOT_OPEN']),
    );
    expect(await capturesOf(env, orderIds)).toEqual(orderIds.map(() => 1));
    const replayed = after.filter((l) => charges.some((c) => c.id === l.id));
    expect(replayed.map((l) => [l.status, l.replay_count])).toEqual(charges.map(() => ['REPLAYED', 1]));
    expect(after.filter((l) => l.order_id === ghostOrder).map((l) => [l.failure_reason, l.attempts])).toEqual(
      [
        ['PERMANENT_FAILURE', 1],
        ['PERMANENT_FAILURE', 1],
      ],
    );
    expect(after).toHaveLength(ORDERS + 3);
    expectClean(verdict);
    await Promise.all([api.stop(), worker.stop()]);
  });
});

async function capturesOf(env: ChaosEnv, orderIds: string[]): Promise<number[]> {
  const rows = await env.ds.query<{ order_id: string; n: number }[]>(
    `SELECT o.id AS order_id, count(p.id)::int AS n FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, ord)
     LEFT JOIN payments p ON p.order_id = o.id AND p.kind = 'CHARGE' AND p.status = 'SUCCEEDED'
     GROUP BY o.id, o.ord ORDER BY o.ord`,
    [orderIds],
  );
  return rows.map((r) => r.n);
}
