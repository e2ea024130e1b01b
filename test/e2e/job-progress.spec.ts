import { QUEUES } from '../../src/platform/queue/queue-names';
import { QueueRegistry } from '../../src/platform/queue/queue.registry';
import { createProduct } from '../factories/product.factory';
import { createUserWithToken } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { startTestApp, TestApp } from '../support/test-app';

/** The whole application (ROLE=all) with a slow gateway: a charge job's progress shows while it runs. */
describe('Job progress through the queue API', () => {
  let sut: TestApp;
  let db: { url: string; drop: () => Promise<void> };

  beforeAll(async () => {
    db = await createIsolatedDatabase();
    sut = await startTestApp({
      ROLE: 'all',
      DATABASE_URL: db.url,
      QUEUE_PREFIX: isolatedQueuePrefix('progress'),
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
      PAYMENT_LATENCY_MIN_MS: '1500',
      PAYMENT_LATENCY_MAX_MS: '1500',
      QUEUE_PROGRESS_INTERVAL_MS: '100',
    });
  });
  afterAll(async () => {
    await sut.close();
    await db.drop();
  });

  it('a charge waiting on the gateway shows `charging` on its job, and the saga steps after it', async () => {
    const { token } = await createUserWithToken(sut);
    const product = await createProduct(sut.dataSource, { stock: 5 });
    const res = await sut
      .http()
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${token}`)
      .send({ items: [{ productId: product.id, quantity: 1 }], paymentToken: 'tok_success' })
      .expect(202);
    const queue = sut.get(QueueRegistry).get(QUEUES.paymentProcessing);

    const running = await eventually(
      async () => {
        const [job] = await queue.getJobs(['active']);
        return job && typeof job.progress === 'object' && job;
      },
      { what: 'the active charge job with progress', timeoutMs: 15_000 },
    );
    expect(running.progress).toEqual({ step: 'charging', orders: 1, done: 0, attempt: 1 });

    await eventually(
      async () =>
        (await sut.http().get(`/api/v1/orders/${res.body.id}/status`).set('authorization', `Bearer ${token}`))
          .body.status === 'CONFIRMED',
      { what: 'the order confirmed', timeoutMs: 20_000 },
    );
    // Once the job shows progress, its last report is written when it ends: the saga settled.
    const finished = await queue.getJob(running.id!);
    expect(finished?.progress).toEqual({ step: 'settled', orders: 1, done: 1, attempt: 1 });
  });
});
