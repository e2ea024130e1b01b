import { DataSource } from 'typeorm';

/**
 * The promises of the system as SQL: each query returns the rows that break one invariant. A
 * stand-in until the product's invariant checker (GET /admin/invariants) is on main.
 */
const CHECKS: Record<string, string> = {
  // Nothing accepted is left half-way: final order status with the matching final saga status.
  ordersSettled: `
    SELECT o.id, o.status, s.status AS saga FROM orders o LEFT JOIN saga_state s ON s.order_id = o.id
    WHERE o.status NOT IN ('CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED', 'SHIPPED', 'DELIVERED', 'REFUNDED')
       OR s.status IS DISTINCT FROM
          CASE WHEN o.status IN ('CONFIRMED', 'SHIPPED', 'DELIVERED') THEN 'COMPLETED' ELSE 'COMPENSATED' END`,
  // Money: captured − refunded is the total for a confirmed order, nothing for a failed or cancelled one.
  moneyBalances: `
    SELECT o.id, o.status, o.total_amount::text AS total, coalesce(p.net, 0)::text AS net FROM orders o
    LEFT JOIN (
      SELECT order_id, sum(CASE WHEN kind = 'CHARGE' THEN amount ELSE -amount END) AS net
      FROM payments WHERE status = 'SUCCEEDED' GROUP BY order_id) p ON p.order_id = o.id
    WHERE (o.status IN ('CONFIRMED', 'SHIPPED', 'DELIVERED') AND coalesce(p.net, 0) <> o.total_amount)
       OR (o.status IN ('CANCELLED', 'PAYMENT_FAILED', 'REFUNDED') AND coalesce(p.net, 0) <> 0)`,
  // Nobody is charged twice.
  oneCapturePerOrder: `
    SELECT order_id, count(*) FILTER (WHERE status = 'SUCCEEDED') AS captured,
           count(*) FILTER (WHERE status IN ('PENDING', 'SUCCEEDED')) AS live
    FROM payments WHERE kind = 'CHARGE' GROUP BY order_id
    HAVING count(*) FILTER (WHERE status IN ('PENDING', 'SUCCEEDED')) > 1`,
  refundsWithinCapture: `
    SELECT order_id FROM payments WHERE status = 'SUCCEEDED' GROUP BY order_id
    HAVING sum(amount) FILTER (WHERE kind = 'REFUND') > coalesce(sum(amount) FILTER (WHERE kind = 'CHARGE'), 0)`,
  pendingPayments: `SELECT id, order_id, kind FROM payments WHERE status = 'PENDING'`,
  // Stock: levels agree with the active reservations and with the ledger; nothing negative.
  reservedMatchesReservations: `
    SELECT i.product_id, i.reserved_quantity, coalesce(r.active, 0) AS active FROM inventory i
    LEFT JOIN (SELECT product_id, sum(quantity) AS active FROM inventory_reservations
               WHERE status = 'ACTIVE' GROUP BY product_id) r ON r.product_id = i.product_id
    WHERE i.reserved_quantity <> coalesce(r.active, 0)`,
  levelsMatchLedger: `
    SELECT i.product_id, i.quantity, i.reserved_quantity, m.q, m.r FROM inventory i
    LEFT JOIN (SELECT product_id, sum(quantity_delta) AS q, sum(reserved_delta) AS r
               FROM stock_movements GROUP BY product_id) m ON m.product_id = i.product_id
    WHERE i.quantity <> coalesce(m.q, 0) OR i.reserved_quantity <> coalesce(m.r, 0)`,
  nothingNegative: `
    SELECT product_id, quantity, reserved_quantity FROM inventory
    WHERE quantity < 0 OR reserved_quantity < 0 OR reserved_quantity > quantity`,
  // Sold stock (confirmed reservations) is exactly what confirmed orders bought.
  soldMatchesConfirmedOrders: `
    SELECT o.id, o.status FROM orders o
    JOIN order_items i ON i.order_id = o.id
    LEFT JOIN inventory_reservations r ON r.order_id = o.id AND r.product_id = i.product_id
    GROUP BY o.id, o.status
    HAVING (o.status IN ('CONFIRMED', 'SHIPPED', 'DELIVERED')
            AND bool_or(r.status IS DISTINCT FROM 'CONFIRMED' OR r.quantity <> i.quantity))
        OR (o.status NOT IN ('CONFIRMED', 'SHIPPED', 'DELIVERED') AND bool_or(r.status = 'CONFIRMED'))`,
  activeReservationsOfSettledOrders: `
    SELECT r.id, r.order_id, o.status FROM inventory_reservations r JOIN orders o ON o.id = r.order_id
    WHERE r.status = 'ACTIVE' AND o.status IN ('CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED')`,
  // Each effect once: one confirmation per confirmed order, at most one for any order, none for a
  // declined one.
  oneConfirmationNotice: `
    SELECT o.id, o.status, count(n.id) AS notices FROM orders o
    LEFT JOIN notifications n ON n.order_id = o.id AND n.template = 'order-confirmation'
    GROUP BY o.id, o.status
    HAVING count(n.id) > 1 OR (o.status = 'CONFIRMED' AND count(n.id) <> 1)
        OR (o.status = 'PAYMENT_FAILED' AND count(n.id) <> 0)`,
  // The outbox: everything published in time, nothing parked.
  outboxPublished: `
    SELECT id, event_type, attempts, last_error FROM outbox_events
    WHERE (processed_at IS NULL AND created_at < now() - make_interval(secs => $1)) OR parked_at IS NOT NULL`,
  // Idempotency: one order per (user, key).
  oneOrderPerIdempotencyKey: `
    SELECT user_id, idempotency_key, count(*) FROM orders WHERE idempotency_key IS NOT NULL
    GROUP BY user_id, idempotency_key HAVING count(*) > 1`,
};

export type InvariantName = keyof typeof CHECKS;

export interface InvariantReport {
  violations: number;
  byInvariant: Record<string, number>;
  /** Up to five offending rows per broken invariant, for the failure message. */
  samples: Record<string, unknown[]>;
}

export async function checkInvariants(
  ds: DataSource,
  options: { outboxMaxAgeSeconds?: number; skip?: InvariantName[] } = {},
): Promise<InvariantReport> {
  const report: InvariantReport = { violations: 0, byInvariant: {}, samples: {} };
  for (const [name, sql] of Object.entries(CHECKS)) {
    if (options.skip?.includes(name)) {
      continue;
    }
    const params = sql.includes('$1') ? [options.outboxMaxAgeSeconds ?? 5] : [];
    const rows = await ds.query<unknown[]>(sql, params);
    report.byInvariant[name] = rows.length;
    report.violations += rows.length;
    if (rows.length > 0) {
      report.samples[name] = rows.slice(0, 5);
    }
  }
  return report;
}
