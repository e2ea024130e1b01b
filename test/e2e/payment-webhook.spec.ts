import { randomUUID } from 'node:crypto';
import { PaymentsService } from '../../src/modules/payments/payments.service';
import { GatewayWebhookEvent, HttpWebhookSender } from '../../src/modules/payments/webhook-sender';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '../../src/modules/payments/webhook-signature';
import { createRootLogger } from '../../src/platform/logging/logger';
import { createOrder } from '../factories/order.factory';
import { LogCapture } from '../support/log-capture';
import { startTestApp, TestApp } from '../support/test-app';

const SECRET = 'whsec_test_secret';
const WEBHOOK = '/api/v1/payments/webhook';

describe('POST /payments/webhook', () => {
  let sut: TestApp;
  const logs = new LogCapture();

  beforeAll(async () => {
    const logger = createRootLogger({ env: 'test', log: { level: 'warn' }, role: 'api' }, logs);
    sut = await startTestApp(
      {
        PAYMENT_WEBHOOK_SECRET: SECRET,
        PAYMENT_SUCCESS_RATE: '1',
        PAYMENT_TRANSIENT_FAILURE_RATE: '0',
        // The mock's own settlement must not race the events these tests send by hand.
        PAYMENT_BANK_TRANSFER_SETTLE_MS: '3600000',
      },
      [],
      { logger },
    );
  });
  afterAll(() => sut.close());

  async function pendingBankTransfer() {
    const order = await createOrder(sut.dataSource, { paymentMethod: 'bank_transfer', totalAmount: '80.00' });
    const payment = await sut.get(PaymentsService).chargeOrder(order);
    expect(payment.status).toBe('PENDING');
    return { order, payment };
  }

  function settlementOf(
    payment: { idempotencyKey: string; providerReference: string | null },
    status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED',
  ): GatewayWebhookEvent {
    return {
      id: `evt_${randomUUID()}`,
      type: status === 'SUCCEEDED' ? 'charge.succeeded' : 'charge.failed',
      created: Math.floor(Date.now() / 1000),
      data: {
        reference: payment.providerReference!,
        idempotencyKey: payment.idempotencyKey,
        status,
        amount: '80.00',
        currency: 'USD',
        ...(status === 'FAILED' ? { failureCode: 'insufficient_funds', failureMessage: 'No funds.' } : {}),
      },
    };
  }

  function post(body: string, signature: string) {
    return sut
      .http()
      .post(WEBHOOK)
      .set('content-type', 'application/json')
      .set(WEBHOOK_SIGNATURE_HEADER, signature)
      .send(body);
  }

  const now = () => Math.floor(Date.now() / 1000);

  async function stateOf(orderId: string) {
    const [payment] = await sut.dataSource.query(
      `SELECT status, failure_code AS "failureCode" FROM payments WHERE order_id = $1 AND kind = 'CHARGE'`,
      [orderId],
    );
    const events = await sut.dataSource.query(
      `SELECT payload FROM outbox_events WHERE event_type = 'PaymentProcessed' AND aggregate_id = $1`,
      [orderId],
    );
    return { payment, events: events.map((e: { payload: unknown }) => e.payload) };
  }

  it('applies a validly signed settlement: 204, payment SUCCEEDED, PaymentProcessed in the outbox', async () => {
    const { order, payment } = await pendingBankTransfer();
    const body = JSON.stringify(settlementOf(payment));
    await post(body, signWebhook(SECRET, body, now())).expect(204);
    expect(await stateOf(order.id)).toEqual({
      payment: { status: 'SUCCEEDED', failureCode: null },
      events: [{ orderId: order.id, paymentId: payment.id, status: 'SUCCEEDED' }],
    });
  });

  it('applies a failed settlement with its decline code', async () => {
    const { order, payment } = await pendingBankTransfer();
    const body = JSON.stringify(settlementOf(payment, 'FAILED'));
    await post(body, signWebhook(SECRET, body, now())).expect(204);
    expect(await stateOf(order.id)).toEqual({
      payment: { status: 'FAILED', failureCode: 'insufficient_funds' },
      events: [
        { orderId: order.id, paymentId: payment.id, status: 'FAILED', failureCode: 'insufficient_funds' },
      ],
    });
  });

  it('accepts what the gateway-side HttpWebhookSender sends', async () => {
    const { order, payment } = await pendingBankTransfer();
    const sender = new HttpWebhookSender({ url: `${sut.url}${WEBHOOK}`, secret: SECRET, attempts: 1 });
    await sender.send(settlementOf(payment));
    expect((await stateOf(order.id)).payment.status).toBe('SUCCEEDED');
  });

  it('refuses a bad signature with 401 and changes nothing', async () => {
    const { order, payment } = await pendingBankTransfer();
    const body = JSON.stringify(settlementOf(payment));
    const res = await post(body, signWebhook('some-other-secret', body, now())).expect(401);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    await post(body, 'garbage').expect(401);
    await sut.http().post(WEBHOOK).set('content-type', 'application/json').send(body).expect(401);
    // A valid signature over different bytes (the body was tampered with) is refused too.
    const tampered = body.replace('80.00', '1.00');
    await post(tampered, signWebhook(SECRET, body, now())).expect(401);
    expect(await stateOf(order.id)).toEqual({
      payment: { status: 'PENDING', failureCode: null },
      events: [],
    });
  });

  it('refuses a timestamp older than five minutes with 401', async () => {
    const { order, payment } = await pendingBankTransfer();
    const body = JSON.stringify(settlementOf(payment));
    await post(body, signWebhook(SECRET, body, now() - 301)).expect(401);
    expect((await stateOf(order.id)).payment.status).toBe('PENDING');
  });

  it('applies a replayed event only once', async () => {
    const { order, payment } = await pendingBankTransfer();
    const event = settlementOf(payment);
    const body = JSON.stringify(event);
    await post(body, signWebhook(SECRET, body, now())).expect(204);
    await post(body, signWebhook(SECRET, body, now())).expect(204);
    // A second event contradicting the first does not reopen a settled payment either.
    const late = JSON.stringify({ ...settlementOf(payment, 'FAILED') });
    await post(late, signWebhook(SECRET, late, now())).expect(204);

    const state = await stateOf(order.id);
    expect(state.payment.status).toBe('SUCCEEDED');
    expect(state.events).toHaveLength(1);
    const [{ count }] = await sut.dataSource.query(
      `SELECT count(*)::int AS count FROM processed_messages WHERE consumer = 'payment-webhook' AND message_id = $1`,
      [event.id],
    );
    expect(count).toBe(1);
  });

  describe('refuses a signed settlement that does not match the pending charge (issue 20)', () => {
    const rejectedCount = async (reason: string): Promise<number> => {
      const text = (await sut.http().get('/metrics').expect(200)).text;
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`aop_payment_webhook_rejected_total{reason="${reason}"}`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };

    it.each([
      ['amount_mismatch', { amount: '0.01', reference: 'made_up_reference' }],
      ['amount_mismatch', { amount: '80.01' }],
      ['currency_mismatch', { currency: 'EUR' }],
      ['reference_mismatch', { reference: 'ch_someone_else' }],
    ] as const)(
      '%s %j: 422 problem, an error log line and a metric; nothing changes',
      async (reason, change) => {
        // Before the fix a signed 0.01 with a made-up reference settled the 80.00 charge as SUCCEEDED.
        const { order, payment } = await pendingBankTransfer();
        const before = await rejectedCount(reason);
        const event = settlementOf(payment);
        const body = JSON.stringify({ ...event, data: { ...event.data, ...change } });

        const res = await post(body, signWebhook(SECRET, body, now())).expect(422);

        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 422, code: 'SETTLEMENT_MISMATCH' });
        expect(await stateOf(order.id)).toEqual({
          payment: { status: 'PENDING', failureCode: null },
          events: [],
        });
        expect(await rejectedCount(reason)).toBe(before + 1);
        expect(logs.lines).toContainEqual(
          expect.objectContaining({ level: 50, reason, paymentId: payment.id, eventId: event.id }),
        );
        // The genuine settlement still applies afterwards.
        const genuine = JSON.stringify(settlementOf(payment));
        await post(genuine, signWebhook(SECRET, genuine, now())).expect(204);
        expect((await stateOf(order.id)).payment.status).toBe('SUCCEEDED');
      },
    );

    it('answers 400 for a settlement without a usable amount or currency', async () => {
      const { payment } = await pendingBankTransfer();
      const event = settlementOf(payment);
      for (const data of [{ amount: undefined }, { amount: 80 }, { amount: '1e3' }, { currency: 'US' }]) {
        const body = JSON.stringify({ ...event, data: { ...event.data, ...data } });
        await post(body, signWebhook(SECRET, body, now())).expect(400);
      }
    });
  });

  it('answers 400 for a signed body that is not a settlement event', async () => {
    const body = JSON.stringify({ hello: 'world' });
    await post(body, signWebhook(SECRET, body, now())).expect(400);
  });

  it('keeps ordinary JSON parsing working for other routes', async () => {
    const res = await sut
      .http()
      .post(WEBHOOK)
      .set('content-type', 'application/json')
      .send('{not json')
      .expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });
});

describe('Payment gateway observability', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp();
  });
  afterAll(() => sut.close());

  it('shows the breaker in /health/detailed and in /metrics', async () => {
    const admin = await sut.tokenFor({ id: randomUUID(), email: 'ops@example.com', role: 'admin' });
    const health = await sut
      .http()
      .get('/api/v1/health/detailed')
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(health.body.details.paymentGateway).toEqual({ status: 'up', breaker: 'closed' });

    const metrics = await sut.http().get('/metrics').expect(200);
    expect(metrics.text).toContain('aop_circuit_breaker_state{breaker="payment-gateway"} 0');
  });
});
