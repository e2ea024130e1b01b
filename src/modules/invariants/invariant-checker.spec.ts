import { randomUUID } from 'node:crypto';
import { EntityManager, QueryFailedError } from 'typeorm';
import { createIsolatedDatabase } from '../../../test/support/isolation';
import { buildSettledOrders, SettledOrders } from '../../../test/support/settled-orders';
import { startTestApp, TestApp } from '../../../test/support/test-app';
import { InvariantChecker, InvariantReport } from './invariant-checker';
import { ReservationsService } from '../inventory/reservations.service';
import { INVARIANT_CHECKS } from './invariant-checks';

/** Checks with a non-zero count, by name: what a corruption should (and should only) trip. */
function failing(report: InvariantReport, severity = 'violation'): Record<string, number> {
  return Object.fromEntries(
    report.checks.filter((c) => c.severity === severity && c.count > 0).map((c) => [c.name, c.count]),
  );
}

function rowsOf(report: InvariantReport, name: string): Record<string, unknown>[] {
  return report.checks.find((c) => c.name === name)!.rows;
}

class RolledBack extends Error {}

describe(InvariantChecker.name, () => {
  let app: TestApp;
  let database: { url: string; drop: () => Promise<void> };
  let data: SettledOrders;
  let sut: InvariantChecker;

  /** Corrupts the data inside a transaction, checks inside it, then rolls back: each case starts clean. */
  async function checkAfter(corrupt: (tx: EntityManager) => Promise<unknown>): Promise<InvariantReport> {
    let report: InvariantReport | undefined;
    await app.dataSource
      .transaction(async (tx) => {
        await corrupt(tx);
        report = await sut.run(tx);
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) {
          throw error;
        }
      });
    return report!;
  }

  async function expectRefused(tx: EntityManager, sql: string, params: unknown[], constraint: string) {
    await tx.query('SAVEPOINT refused');
    const error = await tx.query(sql, params).catch((e: unknown) => e);
    await tx.query('ROLLBACK TO SAVEPOINT refused');
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as { driverError: { constraint?: string } }).driverError.constraint).toBe(constraint);
  }

  beforeAll(async () => {
    database = await createIsolatedDatabase();
    app = await startTestApp({
      DATABASE_URL: database.url,
      PAYMENT_SUCCESS_RATE: '1',
      PAYMENT_TRANSIENT_FAILURE_RATE: '0',
    });
    data = await buildSettledOrders(app);
    sut = new InvariantChecker(app.dataSource, {
      recoveryWindowSeconds: 3600,
      outboxLagSeconds: 60,
      outboxRetentionHours: 168,
      deadLetterAgeSeconds: 3600,
      sampleRows: 5,
    });
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  describe('on a consistent database', () => {
    it('finds no violation, only what waits for an operator', async () => {
      const report = await sut.run();

      expect(failing(report)).toEqual({});
      expect(report).toMatchObject({ ok: true, violations: 0, attention: 2 });
      expect(report.checks.map((c) => c.name)).toEqual(INVARIANT_CHECKS.map((c) => c.name));
      expect(rowsOf(report, 'orders_needing_attention')).toEqual([
        expect.objectContaining({ orderId: data.orders.waitingForOperator.id, status: 'PROCESSING' }),
      ]);
      expect(rowsOf(report, 'outbox_parked')).toEqual([
        expect.objectContaining({ eventType: 'UserRegistered', lastError: 'Redis unreachable' }),
      ]);
    });

    it('leaves orders inside the recovery window alone, and checks everything with a window of 0', async () => {
      const strict = new InvariantChecker(app.dataSource, {
        recoveryWindowSeconds: 0,
        outboxLagSeconds: 0,
        outboxRetentionHours: 168,
        deadLetterAgeSeconds: 0,
        sampleRows: 5,
      });

      const report = await strict.run();

      expect(failing(report)).toEqual({ orders_settled: 1, outbox_unpublished: 1 });
      expect(rowsOf(report, 'orders_settled')).toEqual([
        expect.objectContaining({ orderId: data.orders.young.id, status: 'PENDING' }),
      ]);
    });
  });

  describe('finds each broken promise, and only that one', () => {
    it('orders_settled: an order stuck past the recovery window', async () => {
      const { confirmed } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(`UPDATE orders SET status = 'PROCESSING' WHERE id = $1`, [confirmed.id]),
      );
      expect(failing(report)).toEqual({ orders_settled: 1 });
      expect(rowsOf(report, 'orders_settled')).toEqual([
        expect.objectContaining({ orderId: confirmed.id, status: 'PROCESSING', sagaStatus: 'COMPLETED' }),
      ]);
      expect(report.ok).toBe(false);
    });

    it('orders_fulfilled_not_undone: a delivered order refunded in full, caught inside the recovery window', async () => {
      const { deliveredPartlyRefunded: delivered } = data.orders;
      const report = await checkAfter(async (tx) => {
        // What a cancellation racing the ship did: refund the rest. The order changed just now, so the
        // windowed money check does not see it yet; this one must.
        await tx.query(`UPDATE orders SET updated_at = now() WHERE id = $1`, [delivered.id]);
        await tx.query(
          `INSERT INTO payments (order_id, kind, status, amount, currency, method, provider, idempotency_key)
           SELECT $1, 'REFUND', 'SUCCEEDED', c.amount - r.amount, c.currency, c.method, c.provider, $2
           FROM payments c, (SELECT sum(amount) AS amount FROM payments WHERE order_id = $1 AND kind = 'REFUND') r
           WHERE c.order_id = $1 AND c.kind = 'CHARGE' AND c.status = 'SUCCEEDED'`,
          [delivered.id, `refund:${randomUUID()}`],
        );
      });
      expect(failing(report)).toEqual({ orders_fulfilled_not_undone: 1 });
      expect(rowsOf(report, 'orders_fulfilled_not_undone')).toEqual([
        expect.objectContaining({
          orderId: delivered.id,
          status: 'DELIVERED',
          rule: 'money refunded while fulfilled',
        }),
      ]);
    });

    it('orders_fulfilled_not_undone: a delivered order whose stock was restocked, caught inside the recovery window', async () => {
      const { deliveredPartlyRefunded: delivered } = data.orders;
      const report = await checkAfter(async (tx) => {
        await tx.query(`UPDATE orders SET updated_at = now() WHERE id = $1`, [delivered.id]);
        await app.get(ReservationsService).restock(tx, delivered.id, { reason: 'CANCELLED_BY_CUSTOMER' });
      });
      expect(failing(report)).toEqual({ orders_fulfilled_not_undone: 1 });
      expect(rowsOf(report, 'orders_fulfilled_not_undone')).toEqual([
        expect.objectContaining({ orderId: delivered.id, rule: 'stock restocked while fulfilled' }),
      ]);
      expect(rowsOf(report, 'orders_fulfilled_not_undone')[0].restockedUnits).toBeGreaterThan(0);
    });

    it('saga_terminal: a confirmed order whose saga still waits', async () => {
      const { confirmed } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(
          `UPDATE saga_state SET status = 'WAITING', current_step = 'chargePayment' WHERE order_id = $1`,
          [confirmed.id],
        ),
      );
      expect(failing(report)).toEqual({ saga_terminal: 1 });
      expect(rowsOf(report, 'saga_terminal')).toEqual([
        { orderId: confirmed.id, status: 'CONFIRMED', sagaStatus: 'WAITING', sagaStep: 'chargePayment' },
      ]);
    });

    it('order_totals: a line whose total is not its price times its quantity', async () => {
      const { confirmed } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(
          `UPDATE order_items SET line_total = line_total + 1 WHERE order_id = $1 AND product_id = $2`,
          [confirmed.id, data.products.a],
        ),
      );
      expect(failing(report)).toEqual({ order_totals: 1 });
      // 2 x 12.50 + 1 x 40.00 = 65.00 charged; the lines now say 66.00.
      expect(rowsOf(report, 'order_totals')).toEqual([
        { orderId: confirmed.id, currency: 'USD', totalAmount: '65.00', linesTotal: '66.00', badLines: 1 },
      ]);
    });

    it('payments_in_doubt: a failed order whose charge is still PENDING', async () => {
      const { paymentFailed } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(`UPDATE payments SET status = 'PENDING' WHERE order_id = $1 AND kind = 'CHARGE'`, [
          paymentFailed.id,
        ]),
      );
      expect(failing(report)).toEqual({ payments_in_doubt: 1 });
      expect(rowsOf(report, 'payments_in_doubt')).toEqual([
        expect.objectContaining({ orderId: paymentFailed.id, status: 'PAYMENT_FAILED', kind: 'CHARGE' }),
      ]);
    });

    it('refunds_match_status: a REFUNDED order with nothing refunded', async () => {
      const { refunded } = data.orders;
      // Without the charge too, money_balances sees nothing kept and nothing refunded: only this check can tell.
      const report = await checkAfter((tx) =>
        tx.query(`DELETE FROM payments WHERE order_id = $1`, [refunded.id]),
      );
      expect(failing(report)).toEqual({ refunds_match_status: 1 });
      expect(rowsOf(report, 'refunds_match_status')).toEqual([
        { orderId: refunded.id, status: 'REFUNDED', totalAmount: '40.00' },
      ]);
    });

    it("payments_in_order_currency: a charge in another currency than the order's", async () => {
      const { confirmed } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(`UPDATE payments SET currency = 'EUR' WHERE order_id = $1 AND kind = 'CHARGE'`, [
          confirmed.id,
        ]),
      );
      expect(failing(report)).toEqual({ payments_in_order_currency: 1 });
      expect(rowsOf(report, 'payments_in_order_currency')).toEqual([
        expect.objectContaining({
          orderId: confirmed.id,
          kind: 'CHARGE',
          currency: 'EUR',
          orderCurrency: 'USD',
        }),
      ]);
    });

    it('notifications_one_per_outcome: a confirmation missing, one sent twice, one sent for a failed payment', async () => {
      const { confirmed, refunded, paymentFailed } = data.orders;
      const copy = `INSERT INTO notifications (user_id, order_id, channel, template, recipient, dedupe_key)
        SELECT user_id, $2, channel, template, recipient, $3 || id FROM notifications
        WHERE order_id = $1 AND template = 'order-confirmation'`;
      const report = await checkAfter(async (tx) => {
        await tx.query(`DELETE FROM notifications WHERE order_id = $1`, [confirmed.id]);
        await tx.query(copy, [refunded.id, paymentFailed.id, `wrong:${randomUUID()}`]);
        await tx.query(copy, [refunded.id, refunded.id, `again:${randomUUID()}`]);
      });
      expect(failing(report)).toEqual({ notifications_one_per_outcome: 3 });
      expect(rowsOf(report, 'notifications_one_per_outcome')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ orderId: confirmed.id, sent: 0, rule: 'no order-confirmation notice' }),
          expect.objectContaining({
            orderId: refunded.id,
            sent: 2,
            rule: 'several order-confirmation notices on one channel',
          }),
          expect.objectContaining({
            orderId: paymentFailed.id,
            template: 'payment-failed',
            contrary: 1,
            rule: 'a contrary notice was sent',
          }),
        ]),
      );
    });

    it('dead_letters_waiting (attention): an open dead letter older than the threshold, not a young one', async () => {
      const letter = `INSERT INTO dead_letters (queue, job_name, payload, error, created_at)
        VALUES ('payment-processing', 'charge', '{}'::jsonb, 'gateway down', now() - make_interval(secs => $1))`;
      const report = await checkAfter(async (tx) => {
        await tx.query(letter, [7200]);
        await tx.query(letter, [60]);
      });
      expect(failing(report)).toEqual({});
      expect(failing(report, 'attention')).toEqual({
        orders_needing_attention: 1,
        outbox_parked: 1,
        dead_letters_waiting: 1,
      });
      expect(report.ok).toBe(true);
    });

    it('money_balances: a paid order whose total differs from what was captured', async () => {
      const { confirmed } = data.orders;
      const report = await checkAfter(async (tx) => {
        // The line moves with the total, so the order still adds up (order_totals holds).
        await tx.query(`UPDATE orders SET total_amount = total_amount + 0.01 WHERE id = $1`, [confirmed.id]);
        await tx.query(
          `UPDATE order_items SET unit_price = unit_price + 0.01, line_total = line_total + 0.01
           WHERE order_id = $1 AND product_id = $2`,
          [confirmed.id, data.products.b],
        );
      });
      expect(failing(report)).toEqual({ money_balances: 1 });
      expect(rowsOf(report, 'money_balances')).toEqual([
        expect.objectContaining({ orderId: confirmed.id, rule: 'captured differs from total' }),
      ]);
    });

    it('money_balances: a cancelled order that kept the money', async () => {
      const { cancelledAfterCharge } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(`DELETE FROM payments WHERE order_id = $1 AND kind = 'REFUND'`, [cancelledAfterCharge.id]),
      );
      expect(failing(report)).toEqual({ money_balances: 1 });
      expect(rowsOf(report, 'money_balances')).toEqual([
        expect.objectContaining({
          orderId: cancelledAfterCharge.id,
          captured: '120.00',
          refunded: '0',
          rule: 'money kept for an unpaid order',
        }),
      ]);
    });

    it('money_balances: a refunded order only partly refunded, and a refund above the capture', async () => {
      const { refunded, deliveredPartlyRefunded } = data.orders;
      const report = await checkAfter(async (tx) => {
        await tx.query(`UPDATE payments SET amount = amount - 1 WHERE order_id = $1 AND kind = 'REFUND'`, [
          refunded.id,
        ]);
        await tx.query(`UPDATE payments SET amount = 100 WHERE order_id = $1 AND kind = 'REFUND'`, [
          deliveredPartlyRefunded.id,
        ]);
      });
      expect(failing(report)).toEqual({ money_balances: 2 });
      expect(rowsOf(report, 'money_balances')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ orderId: refunded.id, rule: 'refunded order not fully refunded' }),
          expect.objectContaining({ orderId: deliveredPartlyRefunded.id, rule: 'refunded exceeds captured' }),
        ]),
      );
    });

    it('money_one_charge: the database refuses a second live charge; the check finds one if the index is gone', async () => {
      const { confirmed } = data.orders;
      const secondCharge = `INSERT INTO payments (order_id, kind, status, amount, currency, method, provider, idempotency_key)
        VALUES ($1, 'CHARGE', 'SUCCEEDED', $2, 'USD', 'credit_card', 'mock', $3)`;
      const params = [confirmed.id, confirmed.totalAmount, `charge:again:${randomUUID()}`];

      const report = await checkAfter(async (tx) => {
        await expectRefused(tx, secondCharge, params, 'payments_one_charge_per_order');
        await tx.query('DROP INDEX payments_one_charge_per_order');
        await tx.query(secondCharge, params);
      });

      expect(failing(report)).toEqual({ money_one_charge: 1, money_balances: 1 });
      expect(rowsOf(report, 'money_one_charge')).toEqual([
        { orderId: confirmed.id, liveCharges: 2, succeededCharges: 2 },
      ]);
    });

    it('money_orphan_payments: a payment whose order does not exist', async () => {
      const ghost = randomUUID();
      const report = await checkAfter(async (tx) => {
        // Replica mode skips the foreign key that normally makes this impossible.
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(
          `INSERT INTO payments (order_id, kind, status, amount, currency, method, provider, idempotency_key)
           VALUES ($1, 'CHARGE', 'FAILED', 10, 'USD', 'credit_card', 'mock', $2)`,
          [ghost, `charge:${ghost}`],
        );
      });
      expect(failing(report)).toEqual({ money_orphan_payments: 1 });
      expect(rowsOf(report, 'money_orphan_payments')).toEqual([expect.objectContaining({ orderId: ghost })]);
    });

    it('stock_reserved_matches_reservations: a reserved quantity no reservation explains', async () => {
      const report = await checkAfter((tx) =>
        tx.query(`UPDATE inventory SET reserved_quantity = reserved_quantity + 1 WHERE product_id = $1`, [
          data.products.a,
        ]),
      );
      // The ledger does not explain it either.
      expect(failing(report)).toEqual({ stock_reserved_matches_reservations: 1, stock_matches_ledger: 1 });
      expect(rowsOf(report, 'stock_reserved_matches_reservations')).toEqual([
        { productId: data.products.a, reservedQuantity: 1, activeReservations: 0 },
      ]);
    });

    it('stock_matches_ledger: a movement the stock level never saw', async () => {
      const report = await checkAfter((tx) =>
        tx.query(
          `INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, actor, reason)
           VALUES ($1, 'ADJUST', 5, 0, 'test', 'lost update')`,
          [data.products.b],
        ),
      );
      expect(failing(report)).toEqual({ stock_matches_ledger: 1 });
      // b: 40 in, 1 + 3 + 1 sold, 3 restocked by the cancellation = 38 on hand.
      expect(rowsOf(report, 'stock_matches_ledger')).toEqual([
        {
          productId: data.products.b,
          quantity: 38,
          ledgerQuantity: 43,
          reservedQuantity: 0,
          ledgerReserved: 0,
        },
      ]);
    });

    it('stock_non_negative: the database refuses negative stock; the check finds it if the constraints are gone', async () => {
      const { idle } = data.products;
      const report = await checkAfter(async (tx) => {
        const negative = `UPDATE inventory SET quantity = -1 WHERE product_id = $1`;
        await expectRefused(tx, negative, [idle], 'inventory_quantity_check');
        await tx.query(
          'ALTER TABLE inventory DROP CONSTRAINT inventory_quantity_check, DROP CONSTRAINT inventory_reserved_le_quantity',
        );
        await tx.query(negative, [idle]);
        await tx.query(
          `INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, actor)
           VALUES ($1, 'ADJUST', -1, 0, 'test')`,
          [idle],
        );
      });
      expect(failing(report)).toEqual({ stock_non_negative: 1 });
      expect(rowsOf(report, 'stock_non_negative')).toEqual([
        { productId: idle, quantity: -1, reservedQuantity: 0 },
      ]);
    });

    it('stock_sold_matches_confirmed: units leaving as sold without a confirmed reservation', async () => {
      const report = await checkAfter((tx) =>
        tx.query(
          `INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, actor)
           VALUES ($1, 'CONFIRM', -1, 0, 'test'), ($1, 'ADJUST', 1, 0, 'test')`,
          [data.products.b],
        ),
      );
      expect(failing(report)).toEqual({ stock_sold_matches_confirmed: 1 });
      // b: 1 (confirmed order) + 1 (refunded order) sold; 3 sold then restocked by the cancellation.
      expect(rowsOf(report, 'stock_sold_matches_confirmed')).toEqual([
        { productId: data.products.b, ledgerSold: 3, confirmedReservations: 2 },
      ]);
    });

    it('stock_orders_settled: a confirmed order that did not sell all it ordered', async () => {
      const { confirmed } = data.orders;
      // 4 x 6.25 keeps the line's 25.00, so the order still adds up (order_totals holds).
      const report = await checkAfter((tx) =>
        tx.query(
          `UPDATE order_items SET quantity = 4, unit_price = 6.25 WHERE order_id = $1 AND product_id = $2`,
          [confirmed.id, data.products.a],
        ),
      );
      expect(failing(report)).toEqual({ stock_orders_settled: 1 });
      expect(rowsOf(report, 'stock_orders_settled')).toEqual([
        expect.objectContaining({ orderId: confirmed.id, ordered: 4, confirmed: 2, active: 0 }),
      ]);
    });

    it('outbox_unpublished: an event waiting for the relay beyond the lag threshold', async () => {
      const { young } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(
          `UPDATE outbox_events SET created_at = now() - interval '2 minutes' WHERE aggregate_id = $1`,
          [young.id],
        ),
      );
      expect(failing(report)).toEqual({ outbox_unpublished: 1 });
      expect(rowsOf(report, 'outbox_unpublished')).toEqual([
        expect.objectContaining({ eventType: 'OrderCreated', aggregateId: young.id }),
      ]);
    });

    it('outbox_order_created_once: an accepted order whose OrderCreated event is lost', async () => {
      const { confirmed } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(`DELETE FROM outbox_events WHERE aggregate_id = $1 AND event_type = 'OrderCreated'`, [
          confirmed.id,
        ]),
      );
      expect(failing(report)).toEqual({ outbox_order_created_once: 1 });
      expect(rowsOf(report, 'outbox_order_created_once')).toEqual([
        expect.objectContaining({ orderId: confirmed.id, events: 0 }),
      ]);
    });

    it('outbox_one_effect: consumed OrderCreated events that started no saga, even with saga_state empty', async () => {
      const report = await checkAfter((tx) => tx.query(`DELETE FROM saga_state`));
      // Seven published OrderCreated events; the order waiting for an operator loses its excuse too.
      expect(failing(report)).toEqual({ outbox_one_effect: 7, orders_settled: 1 });
    });

    it('outbox_one_effect: a consumed OrderCreated event that started no saga', async () => {
      const { refunded } = data.orders;
      const report = await checkAfter((tx) =>
        tx.query(`DELETE FROM saga_state WHERE order_id = $1`, [refunded.id]),
      );
      expect(failing(report)).toEqual({ outbox_one_effect: 1 });
      expect(rowsOf(report, 'outbox_one_effect')).toEqual([
        expect.objectContaining({ orderId: refunded.id, orderExists: true, sagas: 0 }),
      ]);
    });

    it('webhooks_delivered: an announced event without its delivery, and a delivery pending past the horizon', async () => {
      const { confirmed } = data.orders;
      const ids = { missing: randomUUID(), stale: randomUUID(), done: randomUUID() };
      const report = await checkAfter(async (tx) => {
        const [{ id: endpointId }] = await tx.query<{ id: string }[]>(
          `INSERT INTO webhook_endpoints (url, events, secret_ciphertext, updated_at)
           VALUES ('https://example.com/h', '{order.shipped}', 'sealed', now() - interval '100 milliseconds') RETURNING id`,
        );
        for (const id of Object.values(ids)) {
          await tx.query(
            `INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, schema_version, payload, created_at, processed_at)
             VALUES ($1, 'order', $2, 'OrderStatusChanged', 1, $3, now() - interval '50 milliseconds', now())`,
            [
              id,
              confirmed.id,
              { orderId: confirmed.id, from: 'CONFIRMED', to: 'SHIPPED', reason: null, at: new Date() },
            ],
          );
        }
        for (const [id, status] of [
          [ids.stale, 'pending'],
          [ids.done, 'succeeded'],
        ]) {
          await tx.query(
            `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, message_id, body, status, attempts, max_attempts, last_attempt_at)
             VALUES ($1, $2, 'order.shipped', 'msg', '{}', $3, 1, 10, now() - interval '1 second')`,
            [endpointId, id, status],
          );
        }
      });
      expect(failing(report)).toEqual({ webhooks_delivered: 2 });
      expect(rowsOf(report, 'webhooks_delivered')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            eventId: ids.missing,
            eventType: 'order.shipped',
            problem: 'no delivery',
          }),
          expect.objectContaining({ eventId: ids.stale, problem: 'still pending' }),
        ]),
      );
    });

    it('idempotency_one_order_per_key: the database refuses a second order for a key; the check finds one if the index is gone', async () => {
      const duplicate = `INSERT INTO orders (user_id, status, total_amount, idempotency_key, created_at, updated_at)
        VALUES ($1, 'CANCELLED', 0, $2, now() - interval '1 day', now() - interval '1 day')`;
      const params = [data.userId, data.idempotencyKey];

      const report = await checkAfter(async (tx) => {
        await expectRefused(tx, duplicate, params, 'orders_user_idempotency_key');
        await tx.query('DROP INDEX orders_user_idempotency_key');
        await tx.query(duplicate, params);
      });

      // The hand-made order has no OrderCreated event either.
      expect(failing(report)).toEqual({ idempotency_one_order_per_key: 1, outbox_order_created_once: 1 });
      expect(rowsOf(report, 'idempotency_one_order_per_key')).toEqual([
        { userId: data.userId, key: data.idempotencyKey, orders: 2, rule: 'several orders for one key' },
      ]);
    });

    it("idempotency_one_order_per_key: a stored response naming another user's order", async () => {
      const report = await checkAfter((tx) =>
        tx.query(`UPDATE idempotency_records SET user_id = $1 WHERE key = $2`, [
          data.otherUserId,
          data.idempotencyKey,
        ]),
      );
      expect(failing(report)).toEqual({ idempotency_one_order_per_key: 1 });
      expect(rowsOf(report, 'idempotency_one_order_per_key')).toEqual([
        expect.objectContaining({ userId: data.otherUserId, rule: 'stored response names another order' }),
      ]);
    });
  });

  it('counts every offender but lists at most sampleRows of them', async () => {
    const report = await checkAfter((tx) =>
      tx.query(
        `UPDATE orders SET status = 'PROCESSING', created_at = now() - interval '1 day' WHERE id = ANY($1)`,
        [Object.values(data.orders).map((o) => o.id)],
      ),
    );
    const settled = report.checks.find((c) => c.name === 'orders_settled')!;
    // Eight orders, one of them waiting for an operator.
    expect(settled.count).toBe(7);
    expect(settled.rows).toHaveLength(5);
  });
});
