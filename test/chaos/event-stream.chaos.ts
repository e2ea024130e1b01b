import { connect, JetStreamManager, NatsConnection } from 'nats';
import { randomBytes } from 'node:crypto';
import { eventually } from '../support/eventually';
import { ChaosEnv } from './support/chaos-env';
import { outcomeCounts, placeOrders } from './support/load';
import { reportFigures, sized } from './support/profile';
import { ServiceProcess } from './support/service-process';
import { expectClean, recoverAndCheck } from './support/verdict';

const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Two worker processes publishing the outbox to NATS JetStream (docs/events.md) while orders pour in, each
 * killing itself (SIGKILL, EVENT_STREAM_CRASH_AFTER_BATCHES) between JetStream's acknowledgement of its second
 * batch and the commit of the marks, and restarted: every such batch is published again by a successor.
 * Then clean workers finish. JetStream must hold every event exactly once.
 */
describe('chaos: workers killed while they publish domain events to JetStream', () => {
  const ORDERS = sized(150, 800);
  const CRASH_AFTER_BATCHES = '2';
  const token = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const streamName = `AOP_EVENTS_CHAOS_${token}`;
  let env: ChaosEnv;
  let nats: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    env = await new ChaosEnv('events', {
      EVENT_STREAM_URL: NATS_URL,
      EVENT_STREAM_NAME: streamName,
      EVENT_STREAM_SUBJECT_PREFIX: `aop.chaos.${token}`,
      EVENT_STREAM_POLL_INTERVAL_MS: '20',
      OUTBOX_BATCH_SIZE: '20',
    }).setUp();
    nats = await connect({ servers: NATS_URL });
    jsm = await nats.jetstreamManager();
  });
  afterAll(async () => {
    await env.tearDown();
    await jsm.streams.delete(streamName).catch(() => undefined);
    await nats.close();
  });

  it(`${ORDERS} orders, workers dying inside the publish window: every outbox event in the stream, exactly once`, async () => {
    const started = Date.now();
    const crashing = { EVENT_STREAM_CRASH_AFTER_BATCHES: CRASH_AFTER_BATCHES };
    const api = await env.start('api');
    const workers: ServiceProcess[] = await Promise.all([1, 2].map(() => env.start('worker', crashing)));
    const users = await env.createUsers(20);
    const product = await env.createProduct({ stock: 100_000, price: '11.00' });

    let done = false;
    let kills = 0;
    const supervisor = (async () => {
      while (!done) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        for (const [i, worker] of workers.entries()) {
          if (!worker.alive && !done) {
            kills += 1;
            // A successor may die already during its start-up (a backlog of two batches): the next round restarts it.
            workers[i] = await env.start('worker', crashing).catch(() => worker);
          }
        }
      }
    })();
    const placed = await placeOrders(env, {
      count: ORDERS,
      concurrency: 6,
      users,
      apiFor: () => api,
      bodyFor: () => ({ items: [{ productId: product.id, quantity: 1 }], paymentToken: 'tok_success' }),
    });
    done = true;
    await supervisor;
    // Clean workers finish the job.
    await Promise.all(workers.map((w) => w.kill()));
    workers.splice(0, workers.length, ...(await Promise.all([1, 2].map(() => env.start('worker')))));

    const verdict = await recoverAndCheck(env, { windowMs: sized(60_000, 180_000) });
    const pendingMarks = async () =>
      (
        await env.ds.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM outbox_events e
           WHERE NOT EXISTS (SELECT 1 FROM outbox_sink_marks m
                             WHERE m.event_id = e.id AND m.sink = 'nats' AND m.published_at IS NOT NULL)`,
        )
      )[0].n;
    await eventually(async () => (await pendingMarks()) === 0, {
      what: 'every outbox event marked published to NATS',
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const ids = (await env.ds.query<{ id: string }[]>(`SELECT id FROM outbox_events`)).map((r) => r.id);
    const { state } = await jsm.streams.info(streamName);
    const msgIds: string[] = [];
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      msgIds.push((await jsm.streams.getMessage(streamName, { seq })).header.get('Nats-Msg-Id'));
    }
    reportFigures({
      scenario: 'event-stream',
      orders: placed.filter((p) => p.id).length,
      kills,
      violations: verdict.invariants.violations + verdict.unsettled + Math.abs(msgIds.length - ids.length),
      durationMs: Date.now() - started,
      outboxEvents: ids.length,
      streamMessages: msgIds.length,
    });

    expect(placed.filter((p) => p.id)).toHaveLength(ORDERS);
    expect(kills).toBeGreaterThan(0);
    expect(await outcomeCounts(env)).toEqual({ CONFIRMED: ORDERS });
    expect(msgIds).toHaveLength(ids.length);
    expect([...msgIds].sort()).toEqual([...ids].sort());
    expectClean(verdict);
    await Promise.all([api, ...workers].map((p) => p.stop()));
  });
});
