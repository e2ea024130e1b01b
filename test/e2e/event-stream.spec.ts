import { connect, JetStreamManager, NatsConnection, StoredMsg } from 'nats';
import { createProduct } from '../factories/product.factory';
import { createUserWithToken } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { startTestApp, TestApp } from '../support/test-app';
import { uniqueName } from '../support/test-database';

const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** EVENT_STREAM_URL set on the whole application (ROLE=all): an order's domain events reach JetStream. */
describe('Event stream (NATS JetStream)', () => {
  let sut: TestApp;
  let db: { url: string; drop: () => Promise<void> };
  let nats: NatsConnection;
  let jsm: JetStreamManager;
  const token = uniqueName('e2e').replace(/[^a-zA-Z0-9]/g, '_');
  const streamName = `AOP_EVENTS_${token}`;
  const prefix = `aop.e2e.${token}`;

  beforeAll(async () => {
    db = await createIsolatedDatabase();
    nats = await connect({ servers: NATS_URL });
    jsm = await nats.jetstreamManager();
    sut = await startTestApp({
      ROLE: 'all',
      DATABASE_URL: db.url,
      QUEUE_PREFIX: isolatedQueuePrefix('evstream'),
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
      EVENT_STREAM_URL: NATS_URL,
      EVENT_STREAM_NAME: streamName,
      EVENT_STREAM_SUBJECT_PREFIX: prefix,
    });
  });
  afterAll(async () => {
    await sut.close();
    await jsm.streams.delete(streamName).catch(() => undefined);
    await nats.close();
    await db.drop();
  });

  async function stored(): Promise<StoredMsg[]> {
    const { state } = await jsm.streams.info(streamName);
    const messages: StoredMsg[] = [];
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      messages.push(await jsm.streams.getMessage(streamName, { seq }));
    }
    return messages;
  }

  it('publishes the order’s events on <prefix>.<type>, once each, and reports the sink in /health/detailed', async () => {
    const { token: bearer } = await createUserWithToken(sut);
    const product = await createProduct(sut.dataSource, { stock: 5 });
    const res = await sut
      .http()
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${bearer}`)
      .send({ items: [{ productId: product.id, quantity: 1 }], paymentToken: 'tok_success' })
      .expect(202);
    const orderId = res.body.id as string;
    await eventually(
      async () =>
        (await sut.http().get(`/api/v1/orders/${orderId}/status`).set('authorization', `Bearer ${bearer}`))
          .body.status === 'CONFIRMED',
      { what: 'the order confirmed', timeoutMs: 20_000 },
    );

    const outbox = await sut.dataSource.query<{ id: string; event_type: string }[]>(
      `SELECT id, event_type FROM outbox_events WHERE aggregate_id = $1 ORDER BY created_at`,
      [orderId],
    );
    expect(outbox.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(['OrderCreated', 'PaymentRequested']),
    );
    const messages = await eventually(
      async () => {
        const all = (await stored()).filter((m) => m.json<{ aggregateId: string }>().aggregateId === orderId);
        return all.length === outbox.length && all;
      },
      { what: 'every event of the order in the stream' },
    );
    expect(messages.map((m) => m.header.get('Nats-Msg-Id')).sort()).toEqual(outbox.map((e) => e.id).sort());
    expect(messages.find((m) => m.subject === `${prefix}.OrderCreated`)?.json()).toMatchObject({
      type: 'OrderCreated',
      data: { orderId },
    });

    const admin = await sut.tokenFor({
      id: '00000000-0000-4000-8000-0000000000e5',
      email: 'ops@example.com',
      role: 'admin',
    });
    const health = await sut
      .http()
      .get('/api/v1/health/detailed')
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(health.body.details['event-sink-nats']).toMatchObject({
      status: 'up',
      connected: true,
      degraded: false,
    });
  });
});
