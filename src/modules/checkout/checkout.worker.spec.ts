import { randomUUID } from 'node:crypto';
import { createProduct } from '../../../test/factories/product.factory';
import { createUserWithToken } from '../../../test/factories/user.factory';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { OutboxBatchJobData } from '../../platform/queue/job-data';
import { JOBS, QUEUES } from '../../platform/queue/queue-names';
import { QueueRegistry } from '../../platform/queue/queue.registry';
import { CheckoutWorker } from './checkout.worker';

/**
 * The batch handlers driven by hand (ROLE=api: no relay or queue worker runs): several orders in one
 * job, a poison event among them handed off as a job of its own, the others unharmed.
 */
describe(CheckoutWorker.name, () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp({ PAYMENT_LATENCY_MIN_MS: '0', PAYMENT_LATENCY_MAX_MS: '0' });
  });
  afterAll(() => sut.close());

  async function placeOrders(count: number, stock: number): Promise<{ ids: string[]; productId: string }> {
    const { token } = await createUserWithToken(sut);
    const product = await createProduct(sut.dataSource, { stock, price: '12.00' });
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const placed = await sut
        .http()
        .post('/api/v1/orders')
        .set('authorization', `Bearer ${token}`)
        .send({ items: [{ productId: product.id, quantity: 2 }], paymentToken: 'tok_success' })
        .expect(202);
      ids.push(placed.body.id as string);
    }
    return { ids, productId: product.id };
  }

  const event = <T extends 'OrderCreated' | 'PaymentRequested'>(eventType: T, orderId: string) => {
    const eventId = randomUUID();
    return {
      eventId,
      jobId: eventId,
      eventType,
      schemaVersion: 1,
      payload: { orderId },
      correlationId: null,
      aggregateId: orderId,
    } as unknown as OutboxBatchJobData<T>['events'][number];
  };

  const statuses = async (ids: string[]) =>
    (
      await sut.dataSource.query<{ id: string; status: string }[]>(
        `SELECT id, status FROM orders WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`,
        [ids],
      )
    ).map((r) => r.status);

  it('advances a batch of orders together, all or nothing per order, the first placed served first', async () => {
    // 3 orders of 2 units for 5 in stock: the third cannot be filled.
    const { ids, productId } = await placeOrders(3, 5);
    const worker = sut.get(CheckoutWorker);

    await worker.advanceSagaBatch({ events: ids.map((id) => event('OrderCreated', id)) });

    expect(await statuses(ids)).toEqual(['PAYMENT_PENDING', 'PAYMENT_PENDING', 'CANCELLED']);
    const [failure] = await sut.dataSource.query<{ failure_reason: string }[]>(
      `SELECT failure_reason FROM orders WHERE id = $1`,
      [ids[2]],
    );
    expect(failure.failure_reason).toBe('INSUFFICIENT_STOCK');

    const charges = ids.slice(0, 2).map((id) => event('PaymentRequested', id));
    await worker.chargePaymentBatch({ events: charges });
    // Delivered twice (a retried batch): nothing is charged or sold twice.
    await worker.chargePaymentBatch({ events: charges });

    expect(await statuses(ids)).toEqual(['CONFIRMED', 'CONFIRMED', 'CANCELLED']);
    const [stock] = await sut.dataSource.query<{ quantity: number; reserved_quantity: number }[]>(
      `SELECT quantity, reserved_quantity FROM inventory WHERE product_id = $1`,
      [productId],
    );
    expect(stock).toEqual({ quantity: 1, reserved_quantity: 0 });
    const [{ charges: charged, movements }] = await sut.dataSource.query<
      { charges: number; movements: number }[]
    >(
      `SELECT (SELECT count(*)::int FROM payments WHERE order_id = ANY($1::uuid[]) AND kind = 'CHARGE') AS charges,
              (SELECT count(*)::int FROM stock_movements WHERE product_id = $2 AND type IN ('RESERVE', 'CONFIRM')) AS movements`,
      [ids, productId],
    );
    expect({ charged, movements }).toEqual({ charged: 2, movements: 4 });
  });

  it('hands a poison event off as a job of its own, and advances the others', async () => {
    const { ids } = await placeOrders(2, 10);
    const worker = sut.get(CheckoutWorker);
    const poison = event('OrderCreated', 'not-a-uuid');

    await worker.advanceSagaBatch({
      events: [event('OrderCreated', ids[0]), poison, event('OrderCreated', ids[1])],
    });

    expect(await statuses(ids)).toEqual(['PAYMENT_PENDING', 'PAYMENT_PENDING']);
    const handedOff = await sut.get(QueueRegistry).get(QUEUES.orderProcessing).getJob(poison.jobId);
    expect(handedOff?.name).toBe(JOBS[QUEUES.orderProcessing].advanceSaga);
    expect(handedOff?.data).toMatchObject({ eventId: poison.eventId, payload: { orderId: 'not-a-uuid' } });
  });
  it("reports the saga's steps and the charges done through the job's progress", async () => {
    const { ids } = await placeOrders(2, 10);
    const worker = sut.get(CheckoutWorker);
    const reports: Record<string, unknown>[] = [];
    const job = (name: string) => ({
      id: name,
      name,
      queue: 'spec',
      attemptsMade: 0,
      attempts: 1,
      progress: (value: Record<string, unknown>) => reports.push(value),
    });

    await worker.advanceSagaBatch({ events: ids.map((id) => event('OrderCreated', id)) }, job('advance'));
    expect(reports.map((r) => r.step)).toEqual([
      'verifyStock',
      'reserveInventory',
      'chargePayment',
      'settled',
    ]);
    expect(reports.at(-1)).toEqual({ step: 'settled', orders: 2, done: 2 });

    reports.length = 0;
    await worker.chargePaymentBatch(
      { events: ids.map((id) => event('PaymentRequested', id)) },
      job('charge'),
    );
    expect(reports.filter((r) => r.step === 'charging').map((r) => r.done)).toEqual([0, 1, 2]);
    // The sagas resume at the step that waited for the charge.
    expect(reports.map((r) => r.step).filter((s) => s !== 'charging')).toEqual([
      'chargePayment',
      'confirmReservation',
      'notifyCustomer',
      'settled',
    ]);
  });
});
