import { createRootLogger } from '../../src/platform/logging/logger';
import { createProduct } from '../factories/product.factory';
import { createUserWithToken } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { LogCapture } from '../support/log-capture';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { startTestApp, TestApp } from '../support/test-app';

describe('One order’s journey: logs and metrics', () => {
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
      QUEUE_METRICS_INTERVAL_MS: '100',
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
    await eventually(
      () =>
        logs.lines.some(
          (l) => l.queue === 'webhook-fan-out' && l.orderId === orderId && l.msg === 'job completed',
        ),
      { what: 'the webhook fan-out of its events' },
    );

    const journey = logs.lines.filter((l) => l.orderId === orderId);
    expect(journey.length).toBeGreaterThan(5);
    expect(new Set(journey.map((l) => l.correlationId))).toEqual(new Set(['checkout-7f3a']));
    expect(new Set(journey.map((l) => l.queue).filter(Boolean))).toEqual(
      new Set(['order-processing', 'payment-processing', 'webhook-fan-out']),
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

  it('leaves business and pipeline series with sensible values in /metrics', async () => {
    // Runs after the order above was confirmed and its confirmation sent.
    const samples = await eventually(async () => {
      const text = (await sut.http().get('/metrics').expect(200)).text;
      const parsed = parsePrometheusText(text);
      return (sampleValue(parsed, 'aop_notifications_total', { channel: 'email', outcome: 'sent' }) ?? 0) >= 1
        ? parsed
        : undefined;
    });

    expect(sampleValue(samples, 'aop_orders_created_total')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'aop_orders_finished_total', { status: 'CONFIRMED' })).toBeGreaterThanOrEqual(
      1,
    );
    const durationSum = sampleValue(samples, 'aop_order_duration_seconds_sum', { status: 'CONFIRMED' })!;
    expect(durationSum).toBeGreaterThan(0);
    expect(durationSum).toBeLessThan(30);
    expect(
      sampleValue(samples, 'aop_saga_step_duration_seconds_count', {
        step: 'reserveInventory',
        outcome: 'completed',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'aop_payments_total', { outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'aop_outbox_relay_lag_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(
      sampleValue(samples, 'aop_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/v1/orders',
        status_code: '202',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(samples, 'aop_jobs_total', {
        queue: 'order-processing',
        job: 'advance-saga',
        outcome: 'completed',
      }),
    ).toBeGreaterThanOrEqual(1);
    // The charge job moves the saga on to CONFIRMED itself (no second advance-saga job for a card).
    expect(
      sampleValue(samples, 'aop_jobs_total', {
        queue: 'payment-processing',
        job: 'charge-payment',
        outcome: 'completed',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'aop_circuit_breaker_state', { breaker: 'payment-gateway' })).toBe(0);
    expect(samples.some((s) => s.name === 'aop_queue_jobs' && s.labels.queue === 'order-processing')).toBe(
      true,
    );
    // Sampled on an interval while events keep flowing: present and small, not necessarily 0 at this instant.
    expect(sampleValue(samples, 'aop_outbox_pending_events')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, 'aop_outbox_pending_events')).toBeLessThan(10);
  });
});
