import { createProduct } from '../../../test/factories/product.factory';
import { createUserWithToken } from '../../../test/factories/user.factory';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { OutboxJobData } from '../../platform/queue/job-data';
import { MockPaymentGateway } from '../payments/mock-payment-gateway';
import { CheckoutSaga } from './checkout.saga';
import { CheckoutWorker } from './checkout.worker';
import { OrderActionsService } from './order-actions.service';
import { SagaRunner } from './saga.runner';

/**
 * The saga driven by hand (ROLE=api: no relay or queue worker runs), so a test decides which delivery
 * happens when — the interleavings the chaos suite's model check found.
 */
describe(CheckoutSaga.name, () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp();
  });
  afterAll(() => sut.close());

  const sagaOf = async (orderId: string) =>
    (
      await sut.dataSource.query<{ status: string }[]>(`SELECT status FROM saga_state WHERE order_id = $1`, [
        orderId,
      ])
    )[0].status;

  const moneyOf = async (orderId: string) =>
    (
      await sut.dataSource.query<{ net: string; pending: number }[]>(
        `SELECT coalesce(sum(CASE WHEN kind = 'CHARGE' THEN amount ELSE -amount END) FILTER (WHERE status = 'SUCCEEDED'), 0)::text AS net,
                count(*) FILTER (WHERE status = 'PENDING')::int AS pending
         FROM payments WHERE order_id = $1`,
        [orderId],
      )
    )[0];

  describe('compensating a charge whose answer was lost', () => {
    it('asks the gateway again before settling, and refunds what it took: the customer keeps no charge', async () => {
      const { user, token } = await createUserWithToken(sut);
      const product = await createProduct(sut.dataSource, { stock: 5, price: '30.00' });
      const placed = await sut
        .http()
        .post('/api/v1/orders')
        .set('authorization', `Bearer ${token}`)
        .send({ items: [{ productId: product.id, quantity: 1 }], paymentToken: 'tok_lost_response' })
        .expect(202);
      const orderId = placed.body.id as string;
      const runner = sut.get(SagaRunner);
      const worker = sut.get(CheckoutWorker);
      const gateway = sut.get(MockPaymentGateway);
      const charge = { payload: { orderId } } as OutboxJobData<'PaymentRequested'>;
      const chargesBefore = gateway.chargesExecuted;

      await runner.advance(orderId);
      // The gateway charges, the answer is lost: our record stays PENDING without a reference.
      await expect(worker.chargePayment(charge)).rejects.toMatchObject({ code: 'response_lost' });
      expect(gateway.chargesExecuted).toBe(chargesBefore + 1);
      await sut
        .get(OrderActionsService)
        .cancel({ id: user.id, email: user.email, role: 'customer' }, orderId);

      await runner.advance(orderId);
      expect(await sagaOf(orderId)).toBe('COMPENSATING'); // not settled while the charge is in doubt

      await worker.chargePayment(charge); // the retried job: same key, the gateway replays its charge
      expect(gateway.chargesExecuted).toBe(chargesBefore + 1);
      await runner.advance(orderId);
      await worker.refundPayment({ payload: { orderId, reason: 'CANCELLED_BY_CUSTOMER' } } as never, {
        id: 'refund',
        name: 'refund-payment',
        queue: 'payment-processing',
        attemptsMade: 0,
        attempts: 5,
        progress: () => undefined,
      });
      await runner.advance(orderId);

      expect(await sagaOf(orderId)).toBe('COMPENSATED');
      expect(await moneyOf(orderId)).toEqual({ net: '0.00', pending: 0 });
      const [order] = await sut.dataSource.query(`SELECT status FROM orders WHERE id = $1`, [orderId]);
      expect(order.status).toBe('CANCELLED');
    });
  });
});
