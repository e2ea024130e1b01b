import { connect, JetStreamManager, NatsConnection, StoredMsg } from 'nats';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { eventually } from '../../../test/support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../../../test/support/isolation';
import { buildPipeline, Pipeline } from '../../../test/support/pipeline';
import { TcpProxy } from '../../../test/support/tcp-proxy';
import { uniqueName } from '../../../test/support/test-database';
import { NewDomainEvent } from '../outbox/domain-events';
import { QUEUES } from '../queue/queue-names';
import { EventSinkStore } from './event-sink.store';
import { eventSinksFor } from './event-sinks';
import { EventStreamPublisher } from './event-stream.publisher';

const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

const orderCreated = (): NewDomainEvent<'OrderCreated'> => {
  const orderId = randomUUID();
  return {
    type: 'OrderCreated',
    aggregateType: 'order',
    aggregateId: orderId,
    payload: { orderId, userId: randomUUID() },
  };
};
const userRegistered = (): NewDomainEvent<'UserRegistered'> => {
  const userId = randomUUID();
  return {
    type: 'UserRegistered',
    aggregateType: 'user',
    aggregateId: userId,
    payload: { userId, email: 'ada@example.com', firstName: 'Ada', language: 'en' },
  };
};

describe(EventStreamPublisher.name, () => {
  let database: { url: string; drop: () => Promise<void> };
  let nats: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  /** A relay pipeline and a stream publisher on a JetStream stream and subjects of this test's own. */
  async function build(env: Record<string, string> = {}) {
    const token = uniqueName('t').replace(/[^a-zA-Z0-9]/g, '_');
    const streamName = `AOP_EVENTS_${token}`;
    streams.push(streamName);
    const p: Pipeline = await buildPipeline({
      DATABASE_URL: database.url,
      QUEUE_PREFIX: isolatedQueuePrefix('evstream'),
      OUTBOX_POLL_INTERVAL_MS: '60000',
      EVENT_STREAM_URL: NATS_URL,
      EVENT_STREAM_NAME: streamName,
      EVENT_STREAM_SUBJECT_PREFIX: `aop.test.${token}`,
      EVENT_STREAM_POLL_INTERVAL_MS: '20',
      EVENT_STREAM_RETRY_MAX_DELAY_MS: '200',
      OUTBOX_PUBLISH_TIMEOUT_MS: '1000',
      ...env,
    });
    const store = new EventSinkStore(p.dataSource);
    const sinks = eventSinksFor(p.config);
    const sut = new EventStreamPublisher(p.config, p.dataSource, store, sinks, p.metrics);
    cleanups.push(async () => {
      await sut.beforeApplicationShutdown();
      await p.close();
    });
    return { p, sut, sink: sinks[0], store, streamName, prefix: `aop.test.${token}` };
  }

  const commit = (p: Pipeline, events: NewDomainEvent[]) =>
    p.dataSource.transaction((tx) => p.writer.appendMany(tx, events));

  async function stored(streamName: string): Promise<StoredMsg[]> {
    const { state } = await jsm.streams.info(streamName);
    const messages: StoredMsg[] = [];
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      messages.push(await jsm.streams.getMessage(streamName, { seq }));
    }
    return messages;
  }

  const msgIds = async (streamName: string) =>
    (await stored(streamName)).map((m) => m.header.get('Nats-Msg-Id')).sort();

  const pendingMarks = async (p: Pipeline) =>
    Number(
      (
        await p.dataSource.query<{ n: string }[]>(
          `SELECT count(*) AS n FROM outbox_sink_marks WHERE published_at IS NULL`,
        )
      )[0].n,
    );

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    nats = await connect({ servers: NATS_URL });
    jsm = await nats.jetstreamManager();
  });
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
    await settleEverything(database.url);
  });
  afterAll(async () => {
    for (const name of streams) {
      await jsm.streams.delete(name).catch(() => undefined);
    }
    await nats.close();
    await database.drop();
  });

  describe('publishing', () => {
    it('publishes each outbox event once to <prefix>.<type> with Nats-Msg-Id = event id and the documented body', async () => {
      const { p, sut, sink, streamName, prefix } = await build();
      const events = [orderCreated(), userRegistered()];
      // Two transactions: the stream follows the order the events were written in.
      const ids = [...(await commit(p, [events[0]])), ...(await commit(p, [events[1]]))];

      expect(await p.relay.relayBatch()).toBe(2);
      expect(await sut.publishBatch(sink)).toBe(2);

      const messages = await stored(streamName);
      expect(messages.map((m) => [m.subject, m.header.get('Nats-Msg-Id')])).toEqual([
        [`${prefix}.OrderCreated`, ids[0]],
        [`${prefix}.UserRegistered`, ids[1]],
      ]);
      expect(messages[0].json()).toEqual({
        id: ids[0],
        type: 'OrderCreated',
        schemaVersion: 1,
        occurredAt: expect.any(String),
        aggregateType: 'order',
        aggregateId: events[0].aggregateId,
        correlationId: null,
        data: events[0].payload,
      });
      expect(messages[1].header.get('Aop-Event-Type')).toBe('UserRegistered');
      expect(await pendingMarks(p)).toBe(0);
      // The saga's own publication is untouched: the job is there as always.
      expect(await p.queues.get(QUEUES.orderProcessing).getJob(ids[0])).toBeDefined();
    });

    it('runs on its own loop: events committed while it runs reach the stream', async () => {
      const { p, sut, streamName } = await build();
      sut.start();
      const ids = await commit(p, [orderCreated(), orderCreated(), orderCreated()]);
      await p.relay.relayBatch();

      await eventually(async () => (await msgIds(streamName)).length === 3, { what: 'three messages' });
      expect(await msgIds(streamName)).toEqual([...ids].sort());
      await sut.sampleBacklog();
      const metrics = await p.metrics.registry.metrics();
      expect(metrics).toMatch(/aop_event_stream_events_total\{sink="nats",outcome="published"\} 3/);
      expect(metrics).toMatch(/aop_event_stream_pending_events\{sink="nats"\} 0/);
      expect(metrics).toMatch(/aop_event_stream_lag_seconds_count\{sink="nats"\} 3/);
    });

    it('retries an event it cannot publish later, with backoff, and publishes the others meanwhile', async () => {
      const { p, sut, sink, streamName } = await build();
      const [good, bad] = await commit(p, [orderCreated(), orderCreated()]);
      // A payload version this release cannot read (written by a newer one).
      await p.dataSource.query(`UPDATE outbox_events SET schema_version = 99 WHERE id = $1`, [bad]);
      await p.relay.relayBatch();

      expect(await sut.publishBatch(sink)).toBe(2);

      expect(await msgIds(streamName)).toEqual([good]);
      const [mark] = await p.dataSource.query<{ attempts: number; last_error: string; due: boolean }[]>(
        `SELECT attempts, last_error, available_at <= now() AS due FROM outbox_sink_marks WHERE event_id = $1`,
        [bad],
      );
      expect(mark).toMatchObject({ attempts: 1, due: false });
      expect(mark.last_error).toMatch(/v99 is newer than this release/);
      expect(await p.metrics.registry.metrics()).toMatch(
        /aop_event_stream_events_total\{sink="nats",outcome="failed"\} 1/,
      );
    });

    it('adds no marks when the stream is off (EVENT_STREAM_URL unset)', async () => {
      const off = await buildPipeline({
        DATABASE_URL: database.url,
        QUEUE_PREFIX: isolatedQueuePrefix('evoff'),
      });
      cleanups.push(() => off.close());
      const [id] = await commit(off, [orderCreated()]);
      await off.relay.relayBatch();
      const marks = await off.dataSource.query(`SELECT 1 FROM outbox_sink_marks WHERE event_id = $1`, [id]);
      expect(marks).toHaveLength(0);
    });
  });

  describe('exactly once per event id', () => {
    it('a crash between the acknowledgement and the commit publishes the batch again; JetStream keeps one copy', async () => {
      const { p, sut, sink, store, streamName } = await build();
      const ids = await commit(p, [orderCreated(), orderCreated(), userRegistered()]);
      await p.relay.relayBatch();
      jest.spyOn(store, 'markPublished').mockRejectedValueOnce(new Error('process killed before commit'));

      await expect(sut.publishBatch(sink)).rejects.toThrow('process killed');
      expect(await pendingMarks(p)).toBe(3);
      expect(await sut.publishBatch(sink)).toBe(3);

      expect(await msgIds(streamName)).toEqual([...ids].sort());
      expect(await pendingMarks(p)).toBe(0);
      const metrics = await p.metrics.registry.metrics();
      expect(metrics).toMatch(/aop_event_stream_events_total\{sink="nats",outcome="duplicate"\} 3/);
    });

    it('marks lost and the relay republishing everything (claimed again, replayed) leave one copy per event', async () => {
      const { p, sut, sink, streamName } = await build();
      const ids = await commit(p, [orderCreated(), userRegistered()]);
      await p.relay.relayBatch();
      await sut.publishBatch(sink);

      // The relay claims the same rows again (as after a crash before its commit) ...
      await p.dataSource.query(`UPDATE outbox_events SET processed_at = NULL WHERE id = ANY($1::uuid[])`, [
        ids,
      ]);
      expect(await p.relay.relayBatch()).toBe(2);
      expect(await pendingMarks(p)).toBe(0);
      // ... and the sink's own marks are lost: both publish again.
      await p.dataSource.query(`UPDATE outbox_sink_marks SET published_at = NULL`);
      expect(await sut.publishBatch(sink)).toBe(2);

      expect(await msgIds(streamName)).toEqual([...ids].sort());
    });
  });

  describe('NATS down', () => {
    it('never holds the job queues back; events wait and all arrive once NATS is back', async () => {
      const proxy = new TcpProxy('127.0.0.1', Number(new URL(NATS_URL).port || 4222));
      await proxy.start();
      cleanups.push(() => proxy.stop());
      const { p, sut, sink, streamName } = await build({
        EVENT_STREAM_URL: `nats://127.0.0.1:${proxy.port}`,
      });
      sut.start();
      const before = await commit(p, [orderCreated()]);
      await p.relay.relayBatch();
      await eventually(async () => (await msgIds(streamName)).length === 1, { what: 'the first message' });

      await proxy.stop();
      await eventually(() => !sink.available, { what: 'the sink to see the outage' });
      const during = await commit(p, [orderCreated(), orderCreated(), userRegistered()]);
      expect(await p.relay.relayBatch()).toBe(3);
      const relayed = await p.dataSource.query(
        `SELECT id FROM outbox_events WHERE id = ANY($1::uuid[]) AND processed_at IS NOT NULL`,
        [during],
      );
      expect(relayed).toHaveLength(3);
      expect(await p.queues.get(QUEUES.orderProcessing).count()).toBeGreaterThan(0);
      await eventually(
        async () =>
          /aop_event_stream_unavailable_total\{sink="nats"\} [1-9]/.test(await p.metrics.registry.metrics()),
        { what: 'a round that found NATS down' },
      );
      expect(await pendingMarks(p)).toBe(3);

      await proxy.start();
      await eventually(async () => (await msgIds(streamName)).length === 4, {
        what: 'every message',
        timeoutMs: 20_000,
      });
      expect(await msgIds(streamName)).toEqual([...before, ...during].sort());
      await eventually(async () => (await pendingMarks(p)) === 0, { what: 'no pending mark' });
    });

    it('starts with NATS unreachable and delivers everything once it answers', async () => {
      const proxy = new TcpProxy('127.0.0.1', Number(new URL(NATS_URL).port || 4222));
      await proxy.start();
      const port = proxy.port;
      await proxy.stop();
      cleanups.push(() => proxy.stop());
      const { p, sut, streamName } = await build({ EVENT_STREAM_URL: `nats://127.0.0.1:${port}` });
      sut.start();
      const ids = await commit(p, [orderCreated(), orderCreated()]);
      await p.relay.relayBatch();
      await eventually(
        async () =>
          /aop_event_stream_unavailable_total\{sink="nats"\} [1-9]/.test(await p.metrics.registry.metrics()),
        { what: 'a round that found NATS down' },
      );

      await proxy.start();
      await eventually(async () => (await msgIds(streamName).catch(() => [])).length === 2, {
        what: 'both messages',
        timeoutMs: 20_000,
      });
      expect(await msgIds(streamName)).toEqual([...ids].sort());
    });
  });
});

/** Leaves nothing pending for the next test's relay and publisher: they all share one database. */
async function settleEverything(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DELETE FROM outbox_sink_marks`);
    await client.query(`UPDATE outbox_events SET processed_at = now() WHERE processed_at IS NULL`);
  } finally {
    await client.end();
  }
}
