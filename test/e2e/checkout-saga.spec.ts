import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SagaRunner } from '../../src/modules/checkout/saga.runner';
import { GatewayWebhookEvent } from '../../src/modules/payments/webhook-sender';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '../../src/modules/payments/webhook-signature';
import { createProduct } from '../factories/product.factory';
import { createUserWithToken } from '../factories/user.factory';
import { eventually } from '../support/eventually';
import { createIsolatedDatabase, isolatedQueuePrefix } from '../support/isolation';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The order saga end to end: HTTP in, real relay, real BullMQ workers, real PostgreSQL; only the payment
 * gateway and the mail transport are the deterministic mocks. Each describe has its own database and
 * queue prefix, because its relay and workers would otherwise take other spec files' events.
 */
const SAGA_ENV = {
  ROLE: 'all',
  PAYMENT_RANDOM_SEED: '42',
  PAYMENT_SUCCESS_RATE: '1',
  PAYMENT_TRANSIENT_FAILURE_RATE: '0',
  PAYMENT_BANK_TRANSFER_SETTLE_MS: '200',
  NOTIFICATION_SUCCESS_RATE: '1',
  QUEUE_BACKOFF_DELAY_MS: '20',
  OUTBOX_POLL_INTERVAL_MS: '200',
};

interface Harness {
  sut: TestApp;
  db: { url: string; drop: () => Promise<void> };
  customer: { id: string; token: string };
  admin: { token: string };
}

async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const db = await createIsolatedDatabase();
  const sut = await startTestApp({
    ...SAGA_ENV,
    DATABASE_URL: db.url,
    QUEUE_PREFIX: isolatedQueuePrefix('saga'),
    ...env,
  });
  const { user, token } = await createUserWithToken(sut);
  const admin = await createUserWithToken(sut, { role: 'admin' });
  return { sut, db, customer: { id: user.id, token }, admin: { token: admin.token } };
}

async function stopHarness(h: Harness | undefined): Promise<void> {
  await h?.sut.close();
  await h?.db.drop();
}

async function placeOrder(
  h: Harness,
  body: Record<string, unknown>,
  token = h.customer.token,
): Promise<string> {
  const res = await h.sut
    .http()
    .post('/api/v1/orders')
    .set('authorization', `Bearer ${token}`)
    .send(body)
    .expect(202);
  return res.body.id as string;
}

const SETTLED = ['CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED'];

async function settledStatus(
  ds: DataSource,
  orderId: string,
  accept = SETTLED,
): Promise<{ status: string; failure_reason: string | null }> {
  return eventually(
    async () => {
      const [order] = await ds.query('SELECT status, failure_reason FROM orders WHERE id = $1', [orderId]);
      return accept.includes(order.status) ? order : undefined;
    },
    { timeoutMs: 15_000, what: `order ${orderId} to reach ${accept.join('/')}` },
  );
}

async function effectsOf(ds: DataSource, orderId: string) {
  const [row] = await ds.query(
    `SELECT
       (SELECT count(*)::int FROM inventory_reservations WHERE order_id = $1) AS reservations,
       (SELECT string_agg(status, ',' ORDER BY status) FROM inventory_reservations WHERE order_id = $1) AS reservation_status,
       (SELECT count(*)::int FROM payments WHERE order_id = $1 AND kind = 'CHARGE') AS charges,
       (SELECT count(*)::int FROM payments WHERE order_id = $1 AND kind = 'CHARGE' AND status = 'SUCCEEDED') AS captured,
       (SELECT count(*)::int FROM payments WHERE order_id = $1 AND kind = 'REFUND' AND status = 'SUCCEEDED') AS refunds,
       (SELECT count(*)::int FROM notifications WHERE order_id = $1 AND template = 'order-confirmation') AS confirmations,
       (SELECT status FROM saga_state WHERE order_id = $1) AS saga`,
    [orderId],
  );
  return row;
}

async function stockOf(ds: DataSource, productId: string): Promise<{ quantity: number; reserved: number }> {
  const [row] = await ds.query(
    'SELECT quantity, reserved_quantity AS reserved FROM inventory WHERE product_id = $1',
    [productId],
  );
  return row;
}

async function ledgerAgrees(ds: DataSource, productId: string): Promise<boolean> {
  const [row] = await ds.query(
    `SELECT i.quantity = coalesce(sum(m.quantity_delta), 0) AND i.reserved_quantity = coalesce(sum(m.reserved_delta), 0) AS ok
     FROM inventory i LEFT JOIN stock_movements m ON m.product_id = i.product_id
     WHERE i.product_id = $1 GROUP BY i.quantity, i.reserved_quantity`,
    [productId],
  );
  return row.ok;
}

describe('Checkout saga', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => stopHarness(h));

  it('happy path: PENDING → PROCESSING → PAYMENT_PENDING → CONFIRMED with one reservation, one charge, one confirmation', async () => {
    const product = await createProduct(h.sut.dataSource, { stock: 10, price: '25.00' });
    const orderId = await placeOrder(h, {
      items: [{ productId: product.id, quantity: 3 }],
      paymentToken: 'tok_success',
    });

    expect(await settledStatus(h.sut.dataSource, orderId)).toEqual({
      status: 'CONFIRMED',
      failure_reason: null,
    });
    expect(await effectsOf(h.sut.dataSource, orderId)).toEqual({
      reservations: 1,
      reservation_status: 'CONFIRMED',
      charges: 1,
      captured: 1,
      refunds: 0,
      confirmations: 1,
      saga: 'COMPLETED',
    });
    expect(await stockOf(h.sut.dataSource, product.id)).toEqual({ quantity: 7, reserved: 0 });
    expect(await ledgerAgrees(h.sut.dataSource, product.id)).toBe(true);
    const history = await h.sut.dataSource.query(
      'SELECT to_status FROM order_status_history WHERE order_id = $1 ORDER BY id',
      [orderId],
    );
    expect(history.map((r: { to_status: string }) => r.to_status)).toEqual([
      'PENDING',
      'PROCESSING',
      'PAYMENT_PENDING',
      'CONFIRMED',
    ]);

    const timeline = await h.sut
      .http()
      .get(`/api/v1/orders/${orderId}/saga`)
      .set('authorization', `Bearer ${h.customer.token}`)
      .expect(200);
    expect(timeline.body.status).toBe('COMPLETED');
    const completed = timeline.body.steps
      .filter((s: { outcome: string }) => s.outcome === 'completed')
      .map((s: { step: string }) => s.step);
    expect(completed).toEqual([
      'verifyStock',
      'reserveInventory',
      'chargePayment',
      'confirmReservation',
      'notifyCustomer',
    ]);
    expect(
      timeline.body.steps.every(
        (s: { durationMs: number; attempt: number }) => s.durationMs >= 0 && s.attempt >= 1,
      ),
    ).toBe(true);

    const mail = await eventually(async () => {
      const [n] = await h.sut.dataSource.query(
        `SELECT status, subject FROM notifications WHERE order_id = $1 AND template = 'order-confirmation'`,
        [orderId],
      );
      return n?.status === 'SENT' ? n : undefined;
    });
    expect(mail.subject).toContain(orderId.slice(0, 8).toUpperCase());
  });

  it('out of stock: CANCELLED with INSUFFICIENT_STOCK, nothing reserved or charged', async () => {
    const product = await createProduct(h.sut.dataSource, { stock: 1 });
    const orderId = await placeOrder(h, {
      items: [{ productId: product.id, quantity: 2 }],
      paymentToken: 'tok_success',
    });

    expect(await settledStatus(h.sut.dataSource, orderId)).toEqual({
      status: 'CANCELLED',
      failure_reason: 'INSUFFICIENT_STOCK',
    });
    expect(await effectsOf(h.sut.dataSource, orderId)).toMatchObject({
      reservations: 0,
      charges: 0,
      saga: 'COMPENSATED',
    });
    expect(await stockOf(h.sut.dataSource, product.id)).toEqual({ quantity: 1, reserved: 0 });
  });

  it('permanent decline: PAYMENT_FAILED with the card code, the reservation released', async () => {
    const product = await createProduct(h.sut.dataSource, { stock: 5 });
    const orderId = await placeOrder(h, {
      items: [{ productId: product.id, quantity: 2 }],
      paymentToken: 'tok_declined',
    });

    expect(await settledStatus(h.sut.dataSource, orderId)).toEqual({
      status: 'PAYMENT_FAILED',
      failure_reason: 'card_declined',
    });
    expect(await effectsOf(h.sut.dataSource, orderId)).toMatchObject({
      reservations: 1,
      reservation_status: 'RELEASED',
      charges: 1,
      captured: 0,
      saga: 'COMPENSATED',
    });
    expect(await stockOf(h.sut.dataSource, product.id)).toEqual({ quantity: 5, reserved: 0 });
    expect(await ledgerAgrees(h.sut.dataSource, product.id)).toBe(true);
    const [failureMail] = await h.sut.dataSource.query(
      `SELECT count(*)::int AS n FROM notifications WHERE order_id = $1 AND template = 'payment-failed'`,
      [orderId],
    );
    expect(failureMail.n).toBe(1);
  });

  it('transient gateway failures are retried with backoff and the order still confirms, charged once', async () => {
    const product = await createProduct(h.sut.dataSource, { stock: 5 });
    const orderId = await placeOrder(h, {
      items: [{ productId: product.id, quantity: 1 }],
      paymentToken: 'tok_transient_2',
    });

    expect(await settledStatus(h.sut.dataSource, orderId)).toEqual({
      status: 'CONFIRMED',
      failure_reason: null,
    });
    const [charge] = await h.sut.dataSource.query(
      `SELECT status, attempts FROM payments WHERE order_id = $1 AND kind = 'CHARGE'`,
      [orderId],
    );
    expect(charge.status).toBe('SUCCEEDED');
    expect(charge.attempts).toBeGreaterThanOrEqual(3);
    expect(await effectsOf(h.sut.dataSource, orderId)).toMatchObject({ charges: 1, captured: 1 });
  });

  it('fraud: an amount above the limit is declined as fraud_suspected', async () => {
    const product = await createProduct(h.sut.dataSource, { stock: 5, price: '600.00' });
    const orderId = await placeOrder(h, { items: [{ productId: product.id, quantity: 2 }] });

    expect(await settledStatus(h.sut.dataSource, orderId)).toEqual({
      status: 'PAYMENT_FAILED',
      failure_reason: 'fraud_suspected',
    });
    expect(await stockOf(h.sut.dataSource, product.id)).toEqual({ quantity: 5, reserved: 0 });
  });

  it('bank transfer: waits in PAYMENT_PENDING until the gateway’s signed webhook settles it', async () => {
    const product = await createProduct(h.sut.dataSource, { stock: 5 });
    const orderId = await placeOrder(h, {
      items: [{ productId: product.id, quantity: 1 }],
      paymentMethod: 'bank_transfer',
    });

    await settledStatus(h.sut.dataSource, orderId, ['PAYMENT_PENDING', ...SETTLED]);
    expect(await settledStatus(h.sut.dataSource, orderId)).toEqual({
      status: 'CONFIRMED',
      failure_reason: null,
    });
    const [webhook] = await h.sut.dataSource.query(
      `SELECT count(*)::int AS n FROM processed_messages WHERE consumer = 'payment-webhook'`,
    );
    expect(webhook.n).toBeGreaterThanOrEqual(1);
  });

  it('a job delivered twice, or advanced concurrently, never reserves, charges or notifies twice', async () => {
    const product = await createProduct(h.sut.dataSource, { stock: 5 });
    const orderId = await placeOrder(h, {
      items: [{ productId: product.id, quantity: 1 }],
      paymentToken: 'tok_success',
    });
    const runner = h.sut.get(SagaRunner);
    await Promise.all([runner.advance(orderId), runner.advance(orderId), runner.advance(orderId)]);

    await settledStatus(h.sut.dataSource, orderId);
    await Promise.all([runner.advance(orderId), runner.advance(orderId)]);
    expect(await effectsOf(h.sut.dataSource, orderId)).toMatchObject({
      reservations: 1,
      charges: 1,
      captured: 1,
      confirmations: 1,
      saga: 'COMPLETED',
    });
    expect(await stockOf(h.sut.dataSource, product.id)).toEqual({ quantity: 4, reserved: 0 });
  });

  describe('after confirmation', () => {
    let product: { id: string };

    beforeAll(async () => {
      product = await createProduct(h.sut.dataSource, { stock: 20, price: '40.00' });
    });

    async function confirmedOrder(quantity = 1): Promise<string> {
      const orderId = await placeOrder(h, {
        items: [{ productId: product.id, quantity }],
        paymentToken: 'tok_success',
      });
      expect((await settledStatus(h.sut.dataSource, orderId)).status).toBe('CONFIRMED');
      return orderId;
    }

    const admin = (path: string, body: object = {}) =>
      h.sut.http().post(path).set('authorization', `Bearer ${h.admin.token}`).send(body);

    it('ship → SHIPPED with the tracking number (customer told), deliver → DELIVERED; the customer cannot ship', async () => {
      const orderId = await confirmedOrder();
      await h.sut
        .http()
        .post(`/api/v1/orders/${orderId}/ship`)
        .set('authorization', `Bearer ${h.customer.token}`)
        .send({ trackingNumber: 'TRACK-1' })
        .expect(403);

      const shipped = await admin(`/api/v1/orders/${orderId}/ship`, {
        trackingNumber: '1Z999AA10123456784',
      }).expect(200);
      expect(shipped.body.status).toBe('SHIPPED');
      const [order] = await h.sut.dataSource.query(
        'SELECT tracking_number, shipped_at IS NOT NULL AS shipped FROM orders WHERE id = $1',
        [orderId],
      );
      expect(order).toEqual({ tracking_number: '1Z999AA10123456784', shipped: true });
      const [mail] = await h.sut.dataSource.query(
        `SELECT body FROM notifications WHERE order_id = $1 AND template = 'shipping-update'`,
        [orderId],
      );
      expect(mail.body).toContain('1Z999AA10123456784');

      expect((await admin(`/api/v1/orders/${orderId}/deliver`).expect(200)).body.status).toBe('DELIVERED');
    });

    it('refuses illegal transitions with 409: ship twice, deliver before shipping, cancel after shipping', async () => {
      const orderId = await confirmedOrder();
      await admin(`/api/v1/orders/${orderId}/deliver`).expect(409);
      await admin(`/api/v1/orders/${orderId}/ship`, { trackingNumber: 'TRACK-2' }).expect(200);
      const again = await admin(`/api/v1/orders/${orderId}/ship`, { trackingNumber: 'TRACK-3' }).expect(409);
      expect(again.body.code).toBe('ILLEGAL_TRANSITION');
      await h.sut
        .http()
        .post(`/api/v1/orders/${orderId}/cancel`)
        .set('authorization', `Bearer ${h.customer.token}`)
        .expect(409);
    });

    it('cancel by the customer: 202, then restock and refund, CANCELLED, money back to 0', async () => {
      const orderId = await confirmedOrder(2);
      const before = await stockOf(h.sut.dataSource, product.id);

      await h.sut
        .http()
        .post(`/api/v1/orders/${orderId}/cancel`)
        .set('authorization', `Bearer ${h.customer.token}`)
        .expect(202);

      expect(await settledStatus(h.sut.dataSource, orderId, ['CANCELLED'])).toEqual({
        status: 'CANCELLED',
        failure_reason: 'CANCELLED_BY_CUSTOMER',
      });
      await eventually(async () => (await effectsOf(h.sut.dataSource, orderId)).saga === 'COMPENSATED');
      expect(await effectsOf(h.sut.dataSource, orderId)).toMatchObject({ captured: 1, refunds: 1 });
      expect(await stockOf(h.sut.dataSource, product.id)).toEqual({
        quantity: before.quantity + 2,
        reserved: 0,
      });
      expect(await ledgerAgrees(h.sut.dataSource, product.id)).toBe(true);
    });

    it('another customer cannot cancel or read the saga (404)', async () => {
      const orderId = await confirmedOrder();
      const other = await createUserWithToken(h.sut);
      await h.sut
        .http()
        .post(`/api/v1/orders/${orderId}/cancel`)
        .set('authorization', `Bearer ${other.token}`)
        .expect(404);
      await h.sut
        .http()
        .get(`/api/v1/orders/${orderId}/saga`)
        .set('authorization', `Bearer ${other.token}`)
        .expect(404);
    });

    it('a cancellation in progress blocks ship, deliver and refund (409); the order ends CANCELLED (issue 20)', async () => {
      // Before the fix the ship was accepted: the order ended SHIPPED with the money refunded and the stock restocked.
      const orderId = await confirmedOrder(2);
      const before = await stockOf(h.sut.dataSource, product.id);
      await h.sut
        .http()
        .post(`/api/v1/orders/${orderId}/cancel`)
        .set('authorization', `Bearer ${h.customer.token}`)
        .expect(202);

      const ship = await admin(`/api/v1/orders/${orderId}/ship`, { trackingNumber: 'TRACK-X' });
      const deliver = await admin(`/api/v1/orders/${orderId}/deliver`);
      const refund = await admin(`/api/v1/orders/${orderId}/refund`);
      for (const res of [ship, deliver, refund]) {
        expect(res.status).toBe(409);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      }
      expect(ship.body.code).toBe('CANCELLATION_IN_PROGRESS');
      expect(refund.body.code).toBe('CANCELLATION_IN_PROGRESS');

      expect((await settledStatus(h.sut.dataSource, orderId, ['CANCELLED'])).status).toBe('CANCELLED');
      await eventually(async () => (await effectsOf(h.sut.dataSource, orderId)).saga === 'COMPENSATED');
      expect(await effectsOf(h.sut.dataSource, orderId)).toMatchObject({ captured: 1, refunds: 1 });
      expect(await stockOf(h.sut.dataSource, product.id)).toEqual({
        quantity: before.quantity + 2,
        reserved: 0,
      });
      const [{ shipped }] = await h.sut.dataSource.query(
        `SELECT count(*)::int AS shipped FROM order_status_history WHERE order_id = $1 AND to_status = 'SHIPPED'`,
        [orderId],
      );
      expect(shipped).toBe(0);
      await admin(`/api/v1/orders/${orderId}/ship`, { trackingNumber: 'TRACK-Y' }).expect(409);
    });

    it('cancel and ship sent at the same time: exactly one wins, and the order ends consistent with it', async () => {
      const orderIds = await Promise.all(Array.from({ length: 6 }, () => confirmedOrder()));
      const outcomes = await Promise.all(
        orderIds.map(async (orderId) => {
          const [cancel, ship] = await Promise.all([
            h.sut
              .http()
              .post(`/api/v1/orders/${orderId}/cancel`)
              .set('authorization', `Bearer ${h.customer.token}`),
            admin(`/api/v1/orders/${orderId}/ship`, { trackingNumber: `RACE-${orderId.slice(0, 8)}` }),
          ]);
          return { orderId, cancel: cancel.status, ship: ship.status };
        }),
      );

      for (const { orderId, cancel, ship } of outcomes) {
        expect([cancel, ship].sort()).toEqual(cancel === 202 ? [202, 409] : [200, 409]);
        const final = await settledStatus(h.sut.dataSource, orderId, ['CANCELLED', 'SHIPPED']);
        const effects = await effectsOf(h.sut.dataSource, orderId);
        if (cancel === 202) {
          expect(final.status).toBe('CANCELLED');
          await eventually(async () => (await effectsOf(h.sut.dataSource, orderId)).refunds === 1);
        } else {
          expect(final.status).toBe('SHIPPED');
          expect(effects).toMatchObject({ refunds: 0, saga: 'COMPLETED' });
        }
      }
    });

    it('partial then full refund by an admin: REFUNDED only when everything went back, never more', async () => {
      const orderId = await confirmedOrder(1);
      const partial = await admin(`/api/v1/orders/${orderId}/refund`, { amount: '15.00' }).expect(200);
      expect(partial.body.order.status).toBe('CONFIRMED');
      expect(partial.body.refund).toMatchObject({
        capturedAmount: '40.00',
        refundedAmount: '15.00',
        fullyRefunded: false,
      });

      const tooMuch = await admin(`/api/v1/orders/${orderId}/refund`, { amount: '30.00' }).expect(422);
      expect(tooMuch.body.detail).toBeDefined();

      const rest = await admin(`/api/v1/orders/${orderId}/refund`).expect(200);
      expect(rest.body.order.status).toBe('REFUNDED');
      expect(rest.body.refund).toMatchObject({ refundedAmount: '40.00', fullyRefunded: true });
      await admin(`/api/v1/orders/${orderId}/refund`).expect(409);
    });
  });

  it('a refund the gateway keeps refusing parks the saga as NEEDS_ATTENTION with a dead letter', async () => {
    const product = await createProduct(h.sut.dataSource, { stock: 5 });
    const orderId = await placeOrder(h, {
      items: [{ productId: product.id, quantity: 1 }],
      paymentToken: 'tok_refund_fails',
    });
    expect((await settledStatus(h.sut.dataSource, orderId)).status).toBe('CONFIRMED');

    await h.sut
      .http()
      .post(`/api/v1/orders/${orderId}/cancel`)
      .set('authorization', `Bearer ${h.customer.token}`)
      .expect(202);

    await eventually(async () => (await effectsOf(h.sut.dataSource, orderId)).saga === 'NEEDS_ATTENTION', {
      what: 'the saga to be parked',
    });
    // The handler parks the saga, then fails; the worker records the dead letter right after.
    const letters = await eventually(async () => {
      const rows = await h.sut.dataSource.query(
        `SELECT job_name, failure_reason FROM dead_letters WHERE payload->'payload'->>'orderId' = $1`,
        [orderId],
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(letters).toEqual([{ job_name: 'refund-payment', failure_reason: 'PERMANENT_FAILURE' }]);
    const timeline = await h.sut
      .http()
      .get(`/api/v1/orders/${orderId}/saga`)
      .set('authorization', `Bearer ${h.admin.token}`)
      .expect(200);
    expect(timeline.body.status).toBe('NEEDS_ATTENTION');
    expect(timeline.body.compensation.pending).toContain('chargePayment');
    // The cancellation stands while it waits for an operator: nothing may ship the order meanwhile (issue 20).
    const ship = await h.sut
      .http()
      .post(`/api/v1/orders/${orderId}/ship`)
      .set('authorization', `Bearer ${h.admin.token}`)
      .send({ trackingNumber: 'TRACK-NA' })
      .expect(409);
    expect(ship.body.code).toBe('CANCELLATION_IN_PROGRESS');
    const [{ status }] = await h.sut.dataSource.query('SELECT status FROM orders WHERE id = $1', [orderId]);
    expect(status).toBe('CONFIRMED');
  });
});

describe('Checkout saga recovery', () => {
  let h: Harness | undefined;
  afterEach(() => stopHarness(h));

  it('a saga unfinished after SAGA_TIMEOUT_SECONDS is compensated and the order cancelled with TIMEOUT', async () => {
    h = await startHarness({
      SAGA_TIMEOUT_SECONDS: '1',
      SAGA_RECOVERY_INTERVAL_MS: '200',
      PAYMENT_BANK_TRANSFER_SETTLE_MS: '600000',
    });
    const product = await createProduct(h.sut.dataSource, { stock: 3 });
    const orderId = await placeOrder(h, {
      items: [{ productId: product.id, quantity: 2 }],
      paymentMethod: 'bank_transfer',
    });

    expect(await settledStatus(h.sut.dataSource, orderId, ['CANCELLED'])).toEqual({
      status: 'CANCELLED',
      failure_reason: 'TIMEOUT',
    });
    expect(await stockOf(h.sut.dataSource, product.id)).toEqual({ quantity: 3, reserved: 0 });
  });

  it('dead letters made moot are resolved: saga jobs (stalled or out of attempts) once the order is finished, notification jobs that stalled once the notice is sent; every other letter stays open', async () => {
    h = await startHarness({ SAGA_STALL_SECONDS: '1', SAGA_RECOVERY_INTERVAL_MS: '200' });
    const product = await createProduct(h.sut.dataSource, { stock: 5 });
    const orderId = await placeOrder(h, { items: [{ productId: product.id, quantity: 1 }] });
    expect(await settledStatus(h.sut.dataSource, orderId, ['CONFIRMED'])).toEqual({
      status: 'CONFIRMED',
      failure_reason: null,
    });
    const unfinished = randomUUID(); // an order id without a finished saga
    const event = (id: string) => ({ payload: { orderId: id }, aggregateId: id, jobId: randomUUID() });
    const letter = async (
      queue: string,
      jobName: string,
      reason: string,
      payload: unknown,
    ): Promise<string> => {
      const [row] = await h!.sut.dataSource.query(
        `INSERT INTO dead_letters (queue, job_name, job_id, payload, error, failure_reason, attempts)
         VALUES ($1, $2, $3, $4, 'job stalled more than allowable limit', $5, 1) RETURNING id`,
        [queue, jobName, randomUUID(), JSON.stringify(payload), reason],
      );
      return row.id as string;
    };
    const notice = (id: string) => ({
      payload: { notificationId: id },
      aggregateId: id,
      jobId: randomUUID(),
    });
    const sent = await eventually(async () => {
      const [row] = await h!.sut.dataSource.query(
        `SELECT id FROM notifications WHERE order_id = $1 AND status = 'SENT'`,
        [orderId],
      );
      return row?.id as string | undefined;
    });
    const [failed] = await h.sut.dataSource.query(
      `INSERT INTO notifications (user_id, channel, template, language, priority, status, recipient, subject, body, dedupe_key)
       SELECT user_id, channel, template, language, priority, 'FAILED', recipient, subject, body, dedupe_key || ':failed'
       FROM notifications WHERE id = $1 RETURNING id`,
      [sent],
    );
    const open = [
      await letter('order-processing', 'advance-saga-batch', 'STALLED', {
        events: [event(orderId), event(unfinished)],
      }),
      await letter('notification-sending', 'send-notification', 'STALLED', notice(failed.id)),
      await letter('notification-sending', 'send-notification', 'ATTEMPTS_EXHAUSTED', notice(sent)),
      await letter('order-processing', 'advance-saga', 'PERMANENT_FAILURE', event(orderId)),
      await letter('notification-sending', 'send-notification', 'STALLED', event(orderId)),
      await letter('order-processing', 'advance-saga', 'STALLED', event(unfinished)),
    ];
    // Inserted after the others: the pass that resolves these has seen all of them.
    const moot = await letter('order-processing', 'advance-saga', 'STALLED', event(orderId));
    const mootBatch = await letter('payment-processing', 'charge-payment-batch', 'STALLED', {
      events: [event(orderId), event(orderId)],
    });
    const mootExhausted = await letter(
      'payment-processing',
      'charge-payment',
      'ATTEMPTS_EXHAUSTED',
      event(orderId),
    );
    const mootNotice = await letter('notification-sending', 'send-notification', 'STALLED', notice(sent));

    const statusOf = async (ids: string[]) =>
      (
        await h!.sut.dataSource.query(
          `SELECT status, resolution FROM dead_letters WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`,
          [ids],
        )
      ).map((r: { status: string; resolution: string | null }) => `${r.status}:${r.resolution ?? ''}`);
    const resolved = await eventually(async () => {
      const rows = await statusOf([moot, mootBatch, mootExhausted, mootNotice]);
      return rows.every((r: string) => r.startsWith('RESOLVED')) ? rows : undefined;
    });
    expect(resolved).toEqual([
      ...Array(3).fill('RESOLVED:saga recovery finished the order after the job failed'),
      'RESOLVED:the notification was sent after the job stalled',
    ]);
    // The same pass saw the others: they stay for an operator.
    expect(await statusOf(open)).toEqual(Array(open.length).fill('OPEN:'));
  });

  it('a notification whose job was lost (Redis emptied) is asked for again and sent once', async () => {
    h = await startHarness({ SAGA_STALL_SECONDS: '1', SAGA_RECOVERY_INTERVAL_MS: '200' });
    const { user } = await createUserWithToken(h.sut);
    // A QUEUED notification whose NotificationRequested job never ran: its outbox event is already processed.
    const [row] = await h.sut.dataSource.query(
      `INSERT INTO notifications (user_id, channel, template, language, priority, status, recipient, subject, body, dedupe_key, updated_at)
       VALUES ($1, 'email', 'welcome', 'en', 'normal', 'QUEUED', $2, 'Welcome', 'Hello', $3, now() - interval '1 hour')
       RETURNING id`,
      [user.id, user.email, `welcome:${user.id}:lost`],
    );

    const sent = await eventually(async () => {
      const [n] = await h!.sut.dataSource.query('SELECT status, attempts FROM notifications WHERE id = $1', [
        row.id,
      ]);
      return n.status === 'SENT' ? n : undefined;
    });
    expect(sent.attempts).toBe(1);
  });

  it('a worker stopped mid-saga: a new one finishes it with exactly one reservation, one charge, one notification', async () => {
    const db = await createIsolatedDatabase();
    const env = {
      ...SAGA_ENV,
      DATABASE_URL: db.url,
      QUEUE_PREFIX: isolatedQueuePrefix('handover'),
      PAYMENT_BANK_TRANSFER_SETTLE_MS: '600000',
    };
    const first = await startTestApp(env);
    const { token } = await createUserWithToken(first);
    const product = await createProduct(first.dataSource, { stock: 4 });
    const res = await first
      .http()
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${token}`)
      .send({ items: [{ productId: product.id, quantity: 1 }], paymentMethod: 'bank_transfer' })
      .expect(202);
    const orderId = res.body.id as string;
    await settledStatus(first.dataSource, orderId, ['PAYMENT_PENDING']);
    // The gateway has the transfer (a reference) before the worker goes away.
    await eventually(async () => {
      const [row] = await first.dataSource.query(
        `SELECT provider_reference FROM payments WHERE order_id = $1`,
        [orderId],
      );
      return row?.provider_reference ? row : undefined;
    });
    await first.close(); // the worker goes away between "charge requested" and "payment settled"

    const second = await startTestApp(env);
    h = { sut: second, db, customer: { id: '', token }, admin: { token } };
    // The gateway settles the transfer and calls the webhook, which now reaches the new process.
    const [charge] = await second.dataSource.query(
      `SELECT provider_reference, idempotency_key, amount::text FROM payments WHERE order_id = $1`,
      [orderId],
    );
    const event: GatewayWebhookEvent = {
      id: `evt_${randomUUID()}`,
      type: 'charge.succeeded',
      created: Math.floor(Date.now() / 1000),
      data: {
        reference: charge.provider_reference,
        idempotencyKey: charge.idempotency_key,
        status: 'SUCCEEDED',
        amount: charge.amount,
        currency: 'USD',
      },
    };
    const body = JSON.stringify(event);
    await second
      .http()
      .post('/api/v1/payments/webhook')
      .set('content-type', 'application/json')
      .set(
        WEBHOOK_SIGNATURE_HEADER,
        signWebhook(second.config.payment.webhookSecret, body, Math.floor(Date.now() / 1000)),
      )
      .send(body)
      .expect(204);

    expect(await settledStatus(second.dataSource, orderId)).toEqual({
      status: 'CONFIRMED',
      failure_reason: null,
    });
    expect(await effectsOf(second.dataSource, orderId)).toEqual({
      reservations: 1,
      reservation_status: 'CONFIRMED',
      charges: 1,
      captured: 1,
      refunds: 0,
      confirmations: 1,
      saga: 'COMPLETED',
    });
    expect(await stockOf(second.dataSource, product.id)).toEqual({ quantity: 3, reserved: 0 });
  });
});
