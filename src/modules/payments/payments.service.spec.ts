import { createOrder } from '../../../test/factories/order.factory';
import { eventually } from '../../../test/support/eventually';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { MockPaymentGateway } from './mock-payment-gateway';
import {
  NothingToRefundError,
  PaymentInProgressError,
  RefundExceedsCapturedError,
  TransientPaymentError,
} from './payment.errors';
import { PaymentsService } from './payments.service';

describe(PaymentsService.name, () => {
  let app: TestApp;
  let sut: PaymentsService;
  let gateway: MockPaymentGateway;

  beforeAll(async () => {
    app = await startTestApp({
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
      PAYMENT_LATENCY_MIN_MS: '20',
      PAYMENT_LATENCY_MAX_MS: '20',
      PAYMENT_BANK_TRANSFER_SETTLE_MS: '0',
      // Nobody listens there: settlement is observed through reconcileCharge instead.
      PAYMENT_WEBHOOK_URL: 'http://127.0.0.1:9/api/v1/payments/webhook',
    });
    sut = app.get(PaymentsService);
    gateway = app.get(MockPaymentGateway);
  });
  afterAll(() => app.close());

  const order = (overrides: Parameters<typeof createOrder>[1] = {}) => createOrder(app.dataSource, overrides);

  describe('chargeOrder', () => {
    it('charges once and answers a repeated call from the record, without a new attempt', async () => {
      const o = await order({ totalAmount: '42.50' });
      const first = await sut.chargeOrder(o);
      expect(first).toMatchObject({
        orderId: o.id,
        kind: 'CHARGE',
        status: 'SUCCEEDED',
        amount: '42.50',
        currency: 'USD',
        idempotencyKey: `charge:${o.id}`,
        providerReference: expect.stringMatching(/^ch_/),
        attempts: 1,
      });
      const again = await sut.chargeOrder(o);
      expect(again).toEqual(first);
      expect(await sut.getPaymentsForOrder(o.id)).toHaveLength(1);
    });

    it('never charges twice under 10 concurrent calls for one order', async () => {
      const o = await order();
      const before = gateway.chargesExecuted;
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => sut.chargeOrder(o)));

      const answered = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(answered.length).toBeGreaterThanOrEqual(1);
      expect(new Set(answered.map((p) => p.id)).size).toBe(1);
      refused.forEach((e) => expect(e).toBeInstanceOf(PaymentInProgressError));
      expect(gateway.chargesExecuted - before).toBe(1);
      const rows = await app.dataSource.query(`SELECT status FROM payments WHERE order_id = $1`, [o.id]);
      expect(rows).toEqual([{ status: 'SUCCEEDED' }]);
    });

    it('records a decline and answers it again without asking the gateway', async () => {
      const o = await order({ paymentToken: 'tok_declined' });
      const declined = await sut.chargeOrder(o);
      expect(declined).toMatchObject({ status: 'FAILED', failureCode: 'card_declined' });
      expect(await sut.chargeOrder({ ...o, paymentToken: 'tok_success' })).toEqual(declined);
    });

    it('rethrows transient failures, keeps the attempt open, and succeeds on retry', async () => {
      const o = await order({ paymentToken: 'tok_transient_2' });
      await expect(sut.chargeOrder(o)).rejects.toBeInstanceOf(TransientPaymentError);
      const [open] = await sut.getPaymentsForOrder(o.id);
      expect(open).toMatchObject({
        status: 'PENDING',
        providerReference: null,
        failureCode: expect.any(String),
      });
      await expect(sut.chargeOrder(o)).rejects.toBeInstanceOf(TransientPaymentError);
      const settled = await sut.chargeOrder(o);
      expect(settled).toMatchObject({ id: open.id, status: 'SUCCEEDED', attempts: 3, failureCode: null });
    });

    it('recovers a lost response with the same idempotency key instead of charging again', async () => {
      const o = await order({ paymentToken: 'tok_lost_response' });
      const before = gateway.chargesExecuted;
      await expect(sut.chargeOrder(o)).rejects.toMatchObject({ code: 'response_lost' });
      const recovered = await sut.chargeOrder(o);
      expect(recovered.status).toBe('SUCCEEDED');
      expect(gateway.chargesExecuted - before).toBe(1);
    });

    it('records a permanent refusal of the request as a failed payment', async () => {
      const o = await order({ currency: 'XXX' });
      await expect(sut.chargeOrder(o)).resolves.toMatchObject({
        status: 'FAILED',
        failureCode: 'currency_not_supported',
      });
    });

    it('leaves a bank transfer PENDING and settles it through reconciliation with an outbox event', async () => {
      const o = await order({ paymentMethod: 'bank_transfer', totalAmount: '80.00' });
      const pending = await sut.chargeOrder(o);
      expect(pending).toMatchObject({ status: 'PENDING', providerReference: expect.stringMatching(/^ch_/) });
      expect(await sut.chargeOrder(o)).toEqual(pending);

      await eventually(
        async () => (await gateway.getPayment(pending.providerReference!))?.status === 'SUCCEEDED',
      );
      const settled = await sut.reconcileCharge(o.id);
      expect(settled).toMatchObject({ id: pending.id, status: 'SUCCEEDED' });
      const events = await app.dataSource.query(
        `SELECT payload FROM outbox_events WHERE event_type = 'PaymentProcessed' AND aggregate_id = $1`,
        [o.id],
      );
      expect(events).toEqual([{ payload: { orderId: o.id, paymentId: pending.id, status: 'SUCCEEDED' } }]);
    });
  });

  describe('refundOrder', () => {
    it('refunds partially, then the rest, never more than captured', async () => {
      const o = await order({ totalAmount: '100.00' });
      await sut.chargeOrder(o);

      const partial = await sut.refundOrder(o.id, { amount: '30.00' });
      expect(partial).toMatchObject({
        refund: {
          kind: 'REFUND',
          status: 'SUCCEEDED',
          amount: '30.00',
          providerReference: expect.stringMatching(/^re_/),
        },
        capturedAmount: '100.00',
        refundedAmount: '30.00',
        fullyRefunded: false,
      });
      await expect(sut.refundOrder(o.id, { amount: '70.01' })).rejects.toBeInstanceOf(
        RefundExceedsCapturedError,
      );
      const rest = await sut.refundOrder(o.id);
      expect(rest).toMatchObject({
        refund: { amount: '70.00' },
        refundedAmount: '100.00',
        fullyRefunded: true,
      });
      await expect(sut.refundOrder(o.id)).rejects.toBeInstanceOf(NothingToRefundError);
      await expect(sut.refundOrder(o.id, { amount: '0.01' })).rejects.toBeInstanceOf(
        RefundExceedsCapturedError,
      );
    });

    it('answers a repeated refund key with the original refund', async () => {
      const o = await order({ totalAmount: '50.00' });
      await sut.chargeOrder(o);
      const first = await sut.refundOrder(o.id, { amount: '10.00', idempotencyKey: `refund:${o.id}:saga` });
      const again = await sut.refundOrder(o.id, { amount: '10.00', idempotencyKey: `refund:${o.id}:saga` });
      expect(again.refund).toEqual(first.refund);
      expect(again.refundedAmount).toBe('10.00');
    });

    it('lets concurrent refunds add up to the captured amount at most', async () => {
      const o = await order({ totalAmount: '100.00' });
      await sut.chargeOrder(o);
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => sut.refundOrder(o.id, { amount: '30.00' })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      results
        .filter((r) => r.status === 'rejected')
        .forEach((r) => expect(r.reason).toBeInstanceOf(RefundExceedsCapturedError));
      const [{ total }] = await app.dataSource.query(
        `SELECT sum(amount)::text AS total FROM payments WHERE order_id = $1 AND kind = 'REFUND' AND status = 'SUCCEEDED'`,
        [o.id],
      );
      expect(total).toBe('90.00');
    });

    it('refuses to refund an order that was never charged', async () => {
      const o = await order();
      await expect(sut.refundOrder(o.id)).rejects.toBeInstanceOf(NothingToRefundError);
    });

    it('records a refund the gateway declines as failed and keeps the amount refundable', async () => {
      const o = await order({ paymentToken: 'tok_refund_fails', totalAmount: '20.00' });
      await sut.chargeOrder(o);
      const outcome = await sut.refundOrder(o.id);
      expect(outcome).toMatchObject({
        refund: { status: 'FAILED', failureCode: 'refund_declined' },
        refundedAmount: '0.00',
        fullyRefunded: false,
      });
    });
  });
});
