import { randomUUID } from 'node:crypto';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../../../test/support/isolation';
import { buildPipeline, Pipeline } from '../../../test/support/pipeline';
import { QUEUES } from '../queue/queue-names';
import { OutboxPublisher } from './outbox.publisher';
import { OutboxRow } from './outbox.store';

/** Publishing an event with several routes (OrderCreated: the saga and the webhook fan-out). */
describe(OutboxPublisher.name, () => {
  let database: { url: string; drop: () => Promise<void> };
  let pipeline: Pipeline;
  let sut: OutboxPublisher;

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    pipeline = await buildPipeline({
      DATABASE_URL: database.url,
      QUEUE_PREFIX: isolatedQueuePrefix('publisher'),
    });
    sut = pipeline.publisher;
  });
  afterAll(async () => {
    await pipeline.close();
    await database.drop();
  });
  afterEach(() => jest.restoreAllMocks());

  const orderCreated = (): OutboxRow => {
    const orderId = randomUUID();
    return {
      id: randomUUID(),
      aggregateType: 'order',
      aggregateId: orderId,
      eventType: 'OrderCreated',
      schemaVersion: 1,
      payload: { orderId, userId: randomUUID() },
      correlationId: null,
      createdAt: new Date(),
      attempts: 0,
      replayCount: 0,
      traceContext: null,
    };
  };
  const jobOn = (queue: string, id: string) => pipeline.queues.get(queue).getJob(id);

  it('enqueues one job per route, each with the event id as job id', async () => {
    const row = orderCreated();
    const outcome = await sut.publish([row]);
    expect(outcome).toEqual({ published: [row], unrouted: [], failed: [] });
    expect((await jobOn(QUEUES.orderProcessing, row.id))?.name).toBe('advance-saga');
    expect((await jobOn(QUEUES.webhookFanOut, row.id))?.name).toBe('fan-out-event');
  });

  it('counts the event published only once every route took it; publishing again adds no second job', async () => {
    const row = orderCreated();
    jest
      .spyOn(pipeline.queues.get(QUEUES.webhookFanOut), 'addBulk')
      .mockRejectedValueOnce(new Error('fan-out queue unreachable'));
    const first = await sut.publish([row]);
    expect(first.published).toEqual([]);
    expect(first.failed).toEqual([
      expect.objectContaining({ rows: [row], error: 'fan-out queue unreachable' }),
    ]);
    expect(await jobOn(QUEUES.orderProcessing, row.id)).toBeDefined();

    const second = await sut.publish([row]);
    expect(second.published).toEqual([row]);
    expect(await jobOn(QUEUES.webhookFanOut, row.id)).toBeDefined();
    const sagaJobs = await pipeline.queues
      .get(QUEUES.orderProcessing)
      .getJobs(['waiting', 'delayed', 'prioritized']);
    expect(sagaJobs.filter((job) => (job.data as { eventId?: string }).eventId === row.id)).toHaveLength(1);
  });
});
