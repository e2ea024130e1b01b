import { randomUUID } from 'node:crypto';
import { ReservationsService } from '../../src/modules/inventory/reservations.service';
import { NotificationsService } from '../../src/modules/notifications/notifications.service';
import { TemplateName } from '../../src/modules/notifications/notification-templates';
import { PaymentsService } from '../../src/modules/payments/payments.service';
import { createProduct } from '../factories/product.factory';
import { createUserWithToken } from '../factories/user.factory';
import { TestApp } from './test-app';

/** How far back the dataset's settled orders are moved: beyond a recovery window of up to one hour. */
export const SETTLED_AGE_SECONDS = 2 * 3600;

interface PlacedOrder {
  id: string;
  totalAmount: string;
  currency: string;
  paymentMethod: 'credit_card';
}

export interface SettledOrders {
  userId: string;
  otherUserId: string;
  products: { a: string; b: string; idle: string };
  orders: {
    confirmed: PlacedOrder;
    deliveredPartlyRefunded: PlacedOrder;
    cancelledAfterCharge: PlacedOrder;
    paymentFailed: PlacedOrder;
    refunded: PlacedOrder;
    cancelledOutOfStock: PlacedOrder;
    waitingForOperator: PlacedOrder;
    young: PlacedOrder;
  };
  idempotencyKey: string;
}

/**
 * A database where every promise holds, built the way the system builds it: orders through
 * POST /orders, stock through ReservationsService, money through PaymentsService and the mock gateway.
 * Only what the saga would do (status moves, saga rows, the relay marking events published) is
 * written by SQL. Each order then rests SETTLED_AGE_SECONDS in the past, except `young`.
 * Needs a database of its own (the checks are global) and PAYMENT_LATENCY_*_MS=0.
 */
export async function buildSettledOrders(sut: TestApp): Promise<SettledOrders> {
  const db = sut.dataSource;
  const inventory = sut.get(ReservationsService);
  const payments = sut.get(PaymentsService);
  const notifications = sut.get(NotificationsService);
  const [{ user, token }, other, a, b, idle] = await Promise.all([
    createUserWithToken(sut),
    createUserWithToken(sut),
    createProduct(db, { price: '12.50', stock: 100 }),
    createProduct(db, { price: '40.00', stock: 40 }),
    createProduct(db, { price: '5.00', stock: 0 }),
  ]);
  const idempotencyKey = `key-${randomUUID()}`;

  const place = async (
    items: [string, number][],
    paymentToken = 'tok_success',
    key?: string,
  ): Promise<PlacedOrder> => {
    const req = sut.http().post('/api/v1/orders').set('authorization', `Bearer ${token}`);
    const res = await (key ? req.set('idempotency-key', key) : req)
      .send({ items: items.map(([productId, quantity]) => ({ productId, quantity })), paymentToken })
      .expect(202);
    return res.body as PlacedOrder;
  };
  const lines = (items: [string, number][]) =>
    items.map(([productId, quantity]) => ({ productId, quantity }));
  const charge = (order: PlacedOrder, paymentToken = 'tok_success') =>
    payments.chargeOrder({ ...order, paymentMethod: 'credit_card', paymentToken });
  const sell = async (order: PlacedOrder, items: [string, number][]) => {
    await inventory.reserve(null, { orderId: order.id, lines: lines(items) });
    await charge(order);
    await inventory.confirm(null, order.id);
  };

  const confirmedItems: [string, number][] = [
    [a.id, 2],
    [b.id, 1],
  ];
  const confirmed = await place(confirmedItems, 'tok_success', idempotencyKey);
  await sell(confirmed, confirmedItems);

  const delivered = await place([[a.id, 1]]);
  await sell(delivered, [[a.id, 1]]);
  await payments.refundOrder(delivered.id, { amount: '1.00' });

  const cancelled = await place([[b.id, 3]]);
  await sell(cancelled, [[b.id, 3]]);
  await payments.refundOrder(cancelled.id);
  await inventory.restock(null, cancelled.id, { reason: 'ORDER_CANCELLED' });

  const failed = await place([[a.id, 1]], 'tok_declined');
  await inventory.reserve(null, { orderId: failed.id, lines: lines([[a.id, 1]]) });
  await charge(failed, 'tok_declined');
  await inventory.release(null, failed.id, { reason: 'PAYMENT_FAILED' });

  const refunded = await place([[b.id, 1]]);
  await sell(refunded, [[b.id, 1]]);
  await payments.refundOrder(refunded.id);

  // What the saga tells the customer: a confirmation once confirmed, a notice when the payment failed.
  const notify = (order: PlacedOrder, template: TemplateName) =>
    notifications.request(db.manager, {
      userId: user.id,
      orderId: order.id,
      template,
      data: {
        orderNumber: order.id.slice(0, 8),
        customerName: 'Test',
        items: [],
        totalAmount: order.totalAmount,
        currency: order.currency,
      },
    });
  for (const order of [confirmed, delivered, refunded]) {
    await notify(order, 'order-confirmation');
  }
  await notify(failed, 'payment-failed');

  const outOfStock = await place([[a.id, 1]]);
  const waiting = await place([[a.id, 1]]);
  const young = await place([[a.id, 1]]);

  const statuses: [PlacedOrder, string, string][] = [
    [confirmed, 'CONFIRMED', 'COMPLETED'],
    [delivered, 'DELIVERED', 'COMPLETED'],
    [cancelled, 'CANCELLED', 'COMPENSATED'],
    [failed, 'PAYMENT_FAILED', 'COMPENSATED'],
    [refunded, 'REFUNDED', 'COMPLETED'],
    [outOfStock, 'CANCELLED', 'COMPENSATED'],
    [waiting, 'PROCESSING', 'NEEDS_ATTENTION'],
  ];
  const age = `make_interval(secs => ${SETTLED_AGE_SECONDS})`;
  await db.transaction(async (tx) => {
    for (const [order, status, sagaStatus] of statuses) {
      await tx.query(
        `UPDATE orders SET status = $2, created_at = now() - ${age}, updated_at = now() - ${age} WHERE id = $1`,
        [order.id, status],
      );
      await tx.query(
        `INSERT INTO saga_state (order_id, status, completed, compensated, started_at, updated_at)
         VALUES ($1, $2::varchar, $2::varchar = 'COMPLETED', $2::varchar = 'COMPENSATED', now() - ${age}, now() - ${age})`,
        [order.id, sagaStatus],
      );
    }
    // What the relay does: every event but the young order's is published.
    await tx.query(
      `UPDATE outbox_events SET created_at = created_at - ${age}, available_at = available_at - ${age},
         processed_at = created_at - ${age} + interval '1 second'
       WHERE aggregate_id <> $1`,
      [young.id],
    );
    // One event the relay gave up on: an operator's business, not a broken promise.
    await tx.query(
      `INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload, attempts, parked_at, last_error)
       VALUES ('user', $1, 'UserRegistered', '{}'::jsonb, 10, now(), 'Redis unreachable')`,
      [user.id],
    );
  });

  return {
    userId: user.id,
    otherUserId: other.user.id,
    products: { a: a.id, b: b.id, idle: idle.id },
    orders: {
      confirmed,
      deliveredPartlyRefunded: delivered,
      cancelledAfterCharge: cancelled,
      paymentFailed: failed,
      refunded,
      cancelledOutOfStock: outOfStock,
      waitingForOperator: waiting,
      young,
    },
    idempotencyKey,
  };
}
