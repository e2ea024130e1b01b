import { createRootLogger } from '../../src/platform/logging/logger';
import { createProduct } from '../factories/product.factory';
import { createUserWithToken } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { LogCapture } from '../support/log-capture';
import { startTestApp, TestApp } from '../support/test-app';

describe('Correlation across one order’s journey', () => {
  const logs = new LogCapture();
  let sut: TestApp;
  let db: { url: string; drop: () => Promise<void> };

  beforeAll(async () => {
    db = await createIsolatedDatabase();
    const env = {
      ROLE: 'all',
      DATABASE_URL: db.url,
      QUEUE_PREFIX: isolatedQueuePrefix('corr'),
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
    };
    sut = await startTestApp(env, [], {
      logger: createRootLogger({ env: 'test', log: { level: 'debug' }, role: 'all' }, logs),
    });
  });
  afterAll(async () => {
    await sut.close();
    await db.drop();
  });

  it('every log line of the order — HTTP, jobs on each queue, saga steps — carries the request’s correlation id', async () => {
    const { token } = await createUserWithToken(sut);
    const product = await createProduct(sut.dataSource, { stock: 5 });
    const res = await sut
      .http()
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${token}`)
      .set('x-correlation-id', 'checkout-7f3a')
      .send({ items: [{ productId: product.id, quantity: 1 }], paymentToken: 'tok_success' })
      .expect(202);
    const orderId = res.body.id as string;
    await eventually(
      async () =>
        (await sut.dataSource.query('SELECT status FROM orders WHERE id = $1', [orderId]))[0].status ===
        'CONFIRMED',
    );
    await eventually(
      () => logs.lines.some((l) => l.queue === 'notification-sending' && l.msg === 'job completed'),
      { what: 'the notification job' },
    );

    const journey = logs.lines.filter((l) => l.orderId === orderId);
    expect(journey.length).toBeGreaterThan(5);
    expect(new Set(journey.map((l) => l.correlationId))).toEqual(new Set(['checkout-7f3a']));
    expect(new Set(journey.map((l) => l.queue).filter(Boolean))).toEqual(
      new Set(['order-processing', 'payment-processing']),
    );
    expect(journey.filter((l) => l.msg === 'job completed').every((l) => typeof l.jobId === 'string')).toBe(
      true,
    );
    const steps = new Set(journey.filter((l) => l.msg === 'saga step completed').map((l) => l.step));
    expect(steps).toEqual(
      new Set(['verifyStock', 'reserveInventory', 'chargePayment', 'confirmReservation', 'notifyCustomer']),
    );
    // The notification job is about a notification, but it still belongs to the same journey.
    expect(
      logs.lines
        .filter((l) => l.queue === 'notification-sending')
        .every((l) => l.correlationId === 'checkout-7f3a'),
    ).toBe(true);
    expect(logs.lines.some((l) => l.correlationId === 'checkout-7f3a' && l.msg === 'request completed')).toBe(
      true,
    );
  });
});
