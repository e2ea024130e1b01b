import { Job, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { eventually } from '../../../test/support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../../../test/support/isolation';
import { buildPipeline, Pipeline } from '../../../test/support/pipeline';
import { TcpProxy } from '../../../test/support/tcp-proxy';
import { Inbox } from '../queue/inbox';
import { OutboxBatchJobData, OutboxJobData } from '../queue/job-data';
import { QUEUES } from '../queue/queue-names';
import { NewDomainEvent } from './domain-events';
import { OutboxRelay } from './outbox.relay';
import { batchJobIdFor, jobIdFor } from './outbox.publisher';

const orderCreated = (): NewDomainEvent<'OrderCreated'> => {
  const orderId = randomUUID();
  return {
    type: 'OrderCreated',
    aggregateType: 'order',
    aggregateId: orderId,
    payload: { orderId, userId: randomUUID() },
  };
};

describe(OutboxRelay.name, () => {
  let database: { url: string; drop: () => Promise<void> };
  const opened: Pipeline[] = [];

  async function pipeline(env: Record<string, string> = {}): Promise<Pipeline> {
    const built = await buildPipeline({
      DATABASE_URL: database.url,
      QUEUE_PREFIX: isolatedQueuePrefix('relay'),
      OUTBOX_POLL_INTERVAL_MS: '60000',
      ...env,
    });
    opened.push(built);
    return built;
  }

  async function commit(p: Pipeline, events: NewDomainEvent[]): Promise<string[]> {
    return p.dataSource.transaction((tx) => p.writer.appendMany(tx, events));
  }

  const processedAt = async (p: Pipeline, id: string): Promise<Date | null> =>
    (
      await p.dataSource.query<
        {
          processed_at: Date | null;
        }[]
      >(`SELECT processed_at FROM outbox_events WHERE id = $1`, [id])
    )[0].processed_at;

  /** `added`/`duplicated` entries of a queue's event stream, per job id: what Redis saw, not what we think we sent. */
  async function streamEvents(p: Pipeline, queue: string): Promise<{ event: string; jobId: string }[]> {
    const entries = await p.queues.connection.xrange(`${p.config.queue.prefix}:${queue}:events`, '-', '+');
    return entries
      .map(([, fields]) => {
        const map = new Map<string, string>();
        for (let i = 0; i < fields.length; i += 2) {
          map.set(fields[i], fields[i + 1]);
        }
        return { event: map.get('event') ?? '', jobId: map.get('jobId') ?? '' };
      })
      .filter((e) => e.event === 'added' || e.event === 'duplicated');
  }

  beforeAll(async () => {
    database = await createIsolatedDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((p) => p.close()));
    // Leave nothing pending for the next test's relay.
  });
  afterAll(() => database.drop());

  describe('publishing', () => {
    it('publishes an event committed in a transaction, woken by NOTIFY (the poll is 60 s), with jobId = event id', async () => {
      const sut = await pipeline();
      sut.relay.start();
      await eventually(() => sut.relay.listening, { what: 'LISTEN' });

      const [eventId] = await commit(sut, [orderCreated()]);

      const job = await eventually(() => sut.queues.get(QUEUES.orderProcessing).getJob(eventId), {
        what: 'the job',
      });
      expect(job.name).toBe('advance-saga');
      expect(job.data).toMatchObject({ eventId, eventType: 'OrderCreated', schemaVersion: 1 });
      await eventually(() => processedAt(sut, eventId), { what: 'processed_at' });
      const lag = await sut.metrics.registry.getSingleMetricAsString('aop_outbox_relay_lag_seconds');
      expect(lag).toMatch(/aop_outbox_relay_lag_seconds_count 1/);
    });

    it('sends the saga events claimed together as batch jobs of up to SAGA_BATCH_SIZE, each event keeping its own job id', async () => {
      const sut = await pipeline({ SAGA_BATCH_SIZE: '2' });
      const ids = await commit(sut, [orderCreated(), orderCreated(), orderCreated()]);

      expect(await sut.relay.relayBatch()).toBe(3);

      const queue = sut.queues.get(QUEUES.orderProcessing);
      const jobs = await queue.getJobs(['waiting']);
      const batch = jobs.find((j) => j.name === 'advance-saga-batch')!;
      expect((batch.data as OutboxBatchJobData).events.map((e) => [e.eventId, e.jobId])).toEqual([
        [ids[0], ids[0]],
        [ids[1], ids[1]],
      ]);
      expect(batch.id).toBe(batchJobIdFor([ids[0], ids[1]]));
      // The one left over travels alone, as the job it always was.
      const alone = await queue.getJob(ids[2]);
      expect(alone?.name).toBe('advance-saga');
      expect(jobs).toHaveLength(2);
    });

    it('publishes by polling an event whose notification never came', async () => {
      const sut = await pipeline({ OUTBOX_POLL_INTERVAL_MS: '50' });
      const rounds = jest.spyOn(sut.relay, 'relayBatch');
      sut.relay.start();
      // The row arrives only after the first (empty) round is over and the relay sleeps: only a poll finds it.
      await eventually(() => rounds.mock.results.length > 0 && sut.relay.listening, {
        what: 'a first round',
      });
      expect(await rounds.mock.results[0].value).toBe(0);
      const orderId = randomUUID();
      const [{ id }] = await sut.dataSource.query<{ id: string }[]>(
        `INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', $1, 'OrderCreated', $2) RETURNING id`,
        [orderId, JSON.stringify({ orderId, userId: randomUUID() })],
      );
      await eventually(() => sut.queues.get(QUEUES.orderProcessing).getJob(id), { what: 'the polled job' });
      expect(rounds.mock.calls.length).toBeGreaterThan(1);
    });

    it('marks events without a consumer processed without publishing them', async () => {
      const sut = await pipeline();
      const userId = randomUUID();
      const [eventId] = await commit(sut, [
        {
          type: 'UserRegistered',
          aggregateType: 'user',
          aggregateId: userId,
          payload: { userId, email: 'x@example.com', firstName: 'X', language: 'en' },
        },
      ]);
      await sut.relay.relayBatch();
      expect(await processedAt(sut, eventId)).not.toBeNull();
    });

    it('resumes LISTEN after its connection is killed (as when PostgreSQL restarts)', async () => {
      const sut = await pipeline();
      sut.relay.start();
      await eventually(() => sut.relay.listening, { what: 'LISTEN' });
      const pidOf = async (): Promise<number | undefined> =>
        (
          await sut.dataSource.query<{ pid: number }[]>(
            `SELECT pid FROM pg_stat_activity WHERE application_name = 'aop-outbox-listener' AND datname = current_database()`,
          )
        )[0]?.pid;
      const before = await eventually(pidOf, { what: 'the listener backend' });

      await sut.dataSource.query(`SELECT pg_terminate_backend($1)`, [before]);
      await eventually(async () => sut.relay.listening && ((await pidOf()) ?? before) !== before, {
        what: 'a new LISTEN connection',
      });

      const [eventId] = await commit(sut, [orderCreated()]);
      await eventually(() => sut.queues.get(QUEUES.orderProcessing).getJob(eventId), {
        what: 'the job after reconnect',
      });
    });
  });

  describe('Redis unreachable', () => {
    it('keeps the event, backs off, and enqueues it once Redis is back', async () => {
      const proxy = new TcpProxy('127.0.0.1', 6379);
      await proxy.start();
      const sut = await pipeline({
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        OUTBOX_POLL_INTERVAL_MS: '50',
        OUTBOX_RETRY_BASE_DELAY_MS: '20',
        OUTBOX_RETRY_MAX_DELAY_MS: '200',
        OUTBOX_PUBLISH_TIMEOUT_MS: '500',
      });
      const direct = await pipeline({ QUEUE_PREFIX: sut.config.queue.prefix });
      try {
        // The producer connection fails fast until it is ready: wait for it rather than race it.
        await eventually(() => sut.queues.ping().then(() => true), { what: 'the producer connection' });
        sut.relay.start();
        await proxy.stop();

        const [eventId] = await commit(sut, [orderCreated()]);
        const failed = await eventually(
          async () => {
            const [row] = await sut.dataSource.query<{ attempts: number; last_error: string | null }[]>(
              `SELECT attempts, last_error FROM outbox_events WHERE id = $1`,
              [eventId],
            );
            return row.last_error ? row : undefined;
          },
          { what: 'a failed publication' },
        );
        // An outage is not the event's fault: no attempt is used up, so it can never be parked by one.
        expect(failed.attempts).toBe(0);
        expect(await processedAt(sut, eventId)).toBeNull();

        await proxy.start();
        await eventually(() => direct.queues.get(QUEUES.orderProcessing).getJob(eventId), {
          timeoutMs: 15_000,
          what: 'the job after Redis returned',
        });
        await eventually(() => processedAt(sut, eventId), { what: 'processed_at' });
      } finally {
        await sut.close();
        await proxy.stop();
      }
    });

    it('never parks an event while Redis is down, however long the outage lasts', async () => {
      const sut = await pipeline({
        REDIS_URL: 'redis://127.0.0.1:1',
        OUTBOX_MAX_ATTEMPTS: '2',
        OUTBOX_RETRY_BASE_DELAY_MS: '1',
        OUTBOX_RETRY_MAX_DELAY_MS: '1',
        OUTBOX_PUBLISH_TIMEOUT_MS: '200',
      });
      const [eventId] = await commit(sut, [orderCreated()]);
      for (let round = 0; round < 5; round++) {
        await sut.relay.relayBatch();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const [row] = await sut.dataSource.query<
        { attempts: number; parked_at: Date | null; last_error: string }[]
      >(`SELECT attempts, parked_at, last_error FROM outbox_events WHERE id = $1`, [eventId]);
      expect(row).toMatchObject({ attempts: 0, parked_at: null });
      expect(row.last_error).toBeTruthy();
    });

    it('parks an event that fails OUTBOX_MAX_ATTEMPTS publications while Redis is up', async () => {
      const sut = await pipeline({
        OUTBOX_MAX_ATTEMPTS: '2',
        OUTBOX_RETRY_BASE_DELAY_MS: '1',
        OUTBOX_RETRY_MAX_DELAY_MS: '1',
      });
      const [eventId] = await commit(sut, [orderCreated()]);
      // Written by a newer release: this one cannot build its job, whatever the broker does.
      await sut.dataSource.query(`UPDATE outbox_events SET schema_version = 99 WHERE id = $1`, [eventId]);
      const row = await eventually(
        async () => {
          await sut.relay.relayBatch();
          const [r] = await sut.dataSource.query<
            {
              attempts: number;
              parked_at: Date | null;
              last_error: string;
            }[]
          >(`SELECT attempts, parked_at, last_error FROM outbox_events WHERE id = $1`, [eventId]);
          return r.parked_at ? r : undefined;
        },
        { what: 'the event parked' },
      );
      expect(row.attempts).toBe(2);
      expect(row.last_error).toBeTruthy();
    });
  });

  describe('several relays and crashes', () => {
    it('two relays at once publish each of N events exactly once', async () => {
      // One job per event here (SAGA_BATCH_SIZE=1); the next test does the same with batch jobs.
      const a = await pipeline({
        OUTBOX_BATCH_SIZE: '15',
        OUTBOX_POLL_INTERVAL_MS: '20',
        SAGA_BATCH_SIZE: '1',
      });
      const b = await pipeline({
        OUTBOX_BATCH_SIZE: '15',
        OUTBOX_POLL_INTERVAL_MS: '20',
        SAGA_BATCH_SIZE: '1',
        QUEUE_PREFIX: a.config.queue.prefix,
      });
      const ids = await commit(a, Array.from({ length: 150 }, orderCreated));
      a.relay.start();
      b.relay.start();

      await eventually(
        async () =>
          Number(
            (
              await a.dataSource.query<{ n: string }[]>(
                `SELECT count(*) AS n FROM outbox_events WHERE id = ANY($1::uuid[]) AND processed_at IS NOT NULL`,
                [ids],
              )
            )[0].n,
          ) === ids.length,
        { timeoutMs: 20_000, what: 'all events processed' },
      );
      const events = (await streamEvents(a, QUEUES.orderProcessing)).filter((e) => ids.includes(e.jobId));
      const added = events.filter((e) => e.event === 'added');
      expect(new Set(added.map((e) => e.jobId)).size).toBe(ids.length);
      expect(added).toHaveLength(ids.length);
      expect(events.filter((e) => e.event === 'duplicated')).toHaveLength(0);
    });

    it('two relays at once put each of N events in exactly one batch job', async () => {
      const a = await pipeline({
        OUTBOX_BATCH_SIZE: '15',
        OUTBOX_POLL_INTERVAL_MS: '20',
        SAGA_BATCH_SIZE: '4',
      });
      const b = await pipeline({
        OUTBOX_BATCH_SIZE: '15',
        OUTBOX_POLL_INTERVAL_MS: '20',
        SAGA_BATCH_SIZE: '4',
        QUEUE_PREFIX: a.config.queue.prefix,
      });
      const ids = await commit(a, Array.from({ length: 150 }, orderCreated));
      a.relay.start();
      b.relay.start();

      await eventually(
        async () =>
          Number(
            (
              await a.dataSource.query<{ n: string }[]>(
                `SELECT count(*) AS n FROM outbox_events WHERE id = ANY($1::uuid[]) AND processed_at IS NOT NULL`,
                [ids],
              )
            )[0].n,
          ) === ids.length,
        { timeoutMs: 20_000, what: 'all events processed' },
      );
      const jobs = await a.queues.get(QUEUES.orderProcessing).getJobs(['waiting']);
      const carried = jobs.flatMap((j) =>
        j.name === 'advance-saga-batch'
          ? (j.data as OutboxBatchJobData).events.map((e) => e.eventId)
          : [(j.data as OutboxJobData).eventId],
      );
      expect(carried.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
      expect(jobs.filter((j) => j.name === 'advance-saga-batch').length).toBeGreaterThanOrEqual(150 / 15);
    });

    it('a crash between publish and mark-processed re-publishes a duplicate that BullMQ ignores and the inbox dedupes', async () => {
      const sut = await pipeline();
      const [eventId] = await commit(sut, [orderCreated()]);
      // Publish, then "crash": the transaction that would mark the row processed rolls back.
      await sut.dataSource
        .transaction(async (tx) => {
          const rows = await sut.store.claimBatch(tx, 100);
          await sut.publisher.publish(rows.filter((r) => r.id === eventId));
          throw new Error('crash before commit');
        })
        .catch(() => undefined);
      expect(await processedAt(sut, eventId)).toBeNull();

      await sut.relay.relayBatch();
      expect(await processedAt(sut, eventId)).not.toBeNull();
      const events = (await streamEvents(sut, QUEUES.orderProcessing)).filter((e) => e.jobId === eventId);
      expect(events.map((e) => e.event)).toEqual(['added', 'duplicated']);

      // A replay (new job id, same event id) reaches the consumer, whose inbox skips the repeat.
      const { aggregateId } = (await sut.queues.get(QUEUES.orderProcessing).getJob(eventId))!.data;
      await sut.dataSource.transaction((tx) => sut.store.scheduleReplay(tx, { aggregateId, limit: 10 }));
      await sut.relay.relayBatch();
      const replayId = jobIdFor({ id: eventId, replayCount: 1 });
      expect(await sut.queues.get(QUEUES.orderProcessing).getJob(replayId)).toBeDefined();

      const inbox = new Inbox();
      const effects: string[] = [];
      const handled: string[] = [];
      const worker = new Worker<OutboxJobData>(
        QUEUES.orderProcessing,
        async (job: Job<OutboxJobData>) => {
          await sut.dataSource.transaction((tx) =>
            inbox.runOnce(tx, 'relay-spec', job.data.eventId, async () => {
              effects.push(job.data.eventId);
            }),
          );
          handled.push(job.id!);
        },
        { connection: sut.redis.connectionFor('blocking'), prefix: sut.config.queue.prefix },
      );
      try {
        await eventually(() => handled.includes(eventId) && handled.includes(replayId), {
          what: 'both jobs handled',
        });
        expect(effects).toEqual([eventId]);
      } finally {
        await worker.close();
      }
    });
  });

  describe('retention', () => {
    it('prunes processed events older than OUTBOX_RETENTION_HOURS and keeps the rest', async () => {
      const sut = await pipeline({ OUTBOX_RETENTION_HOURS: '1' });
      const [old, recent, pending] = await commit(sut, [orderCreated(), orderCreated(), orderCreated()]);
      await sut.dataSource.query(
        `UPDATE outbox_events SET processed_at = now() - interval '2 hours' WHERE id = $1`,
        [old],
      );
      await sut.dataSource.query(`UPDATE outbox_events SET processed_at = now() WHERE id = $1`, [recent]);
      await sut.dataSource.query(`UPDATE outbox_events SET parked_at = now() WHERE id = $1`, [pending]);

      expect(await sut.relay.prune()).toBeGreaterThanOrEqual(1);
      const left = (
        await sut.dataSource.query<{ id: string }[]>(
          `SELECT id FROM outbox_events WHERE id = ANY($1::uuid[])`,
          [[old, recent, pending]],
        )
      ).map((r) => r.id);
      expect(left.sort()).toEqual([recent, pending].sort());
    });
  });
});
