import { SETTLED_STATUSES } from '../orders/order-status';

/**
 * The system's promises as SQL, one row per check. Each query returns the rows that break the
 * promise (empty = it holds); the checker counts them and keeps the first few. `attention` checks
 * list what waits for an operator without being a broken promise.
 *
 * Parameters, by name: `:window` the recovery window in seconds (orders created or changed more
 * recently may still be moving), `:lag` the outbox lag threshold in seconds, `:retention` the
 * outbox retention in hours, `:horizon` the webhook retry horizon in seconds, `:settled` the settled order statuses, `:deadletterage` the age in
 * seconds after which an open dead letter needs an operator. Each check is ordered so the oldest
 * offender comes first. New checks go into their group's place in the list (each check is one
 * self-contained entry, so parallel additions merge cleanly).
 */

export type InvariantGroup =
  'orders' | 'money' | 'stock' | 'outbox' | 'idempotency' | 'notifications' | 'queues' | 'webhooks';
export type InvariantSeverity = 'violation' | 'attention';

export interface InvariantCheck {
  name: string;
  group: InvariantGroup;
  severity: InvariantSeverity;
  description: string;
  sql: string;
}

/** The saga type whose row every consumed OrderCreated event must have (saga_state's default). */
export const CHECKOUT_SAGA = 'checkout';

const PAID_STATUSES = `('CONFIRMED', 'SHIPPED', 'DELIVERED')`;
const UNPAID_STATUSES = `('CANCELLED', 'PAYMENT_FAILED')`;
/** Orders that were once confirmed: they owe the customer exactly one confirmation notice. */
const CONFIRMED_ONCE = `('CONFIRMED', 'SHIPPED', 'DELIVERED', 'REFUNDED')`;
const UNFINISHED_SAGA = `('RUNNING', 'WAITING', 'COMPENSATING')`;
const AT_REST = `o.updated_at < now() - make_interval(secs => :window)`;

export const INVARIANT_CHECKS: readonly InvariantCheck[] = [
  {
    name: 'orders_settled',
    group: 'orders',
    severity: 'violation',
    description:
      'Every order older than the recovery window is settled (or its saga waits in NEEDS_ATTENTION).',
    sql: `
      SELECT o.id AS "orderId", o.status, o.created_at AS "createdAt", s.status AS "sagaStatus",
             s.current_step AS "sagaStep"
      FROM orders o
      LEFT JOIN saga_state s ON s.order_id = o.id AND s.saga_type = '${CHECKOUT_SAGA}'
      WHERE o.created_at < now() - make_interval(secs => :window)
        AND o.status <> ALL(:settled)
        AND s.status IS DISTINCT FROM 'NEEDS_ATTENTION'
      ORDER BY o.created_at`,
  },
  {
    name: 'orders_needing_attention',
    group: 'orders',
    severity: 'attention',
    description: 'Sagas that gave up and wait for an operator (NEEDS_ATTENTION).',
    sql: `
      SELECT s.order_id AS "orderId", o.status, s.current_step AS "sagaStep",
             s.failure_reason AS "failureReason", s.updated_at AS "since"
      FROM saga_state s JOIN orders o ON o.id = s.order_id
      WHERE s.status = 'NEEDS_ATTENTION'
      ORDER BY s.updated_at`,
  },
  {
    name: 'orders_fulfilled_not_undone',
    group: 'orders',
    severity: 'violation',
    description:
      'No SHIPPED or DELIVERED order had its money refunded in full (SUCCEEDED refunds equal to the capture) ' +
      'or its stock restocked; checked at once, without the recovery window (issue 20: a cancellation ' +
      'that raced a ship).',
    sql: `
      WITH fulfilled AS (
        SELECT o.id, o.status, o.updated_at FROM orders o WHERE o.status IN ('SHIPPED', 'DELIVERED')
      ), money AS (
        SELECT p.order_id,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'CHARGE' AND p.status = 'SUCCEEDED'), 0) AS captured,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'REFUND' AND p.status = 'SUCCEEDED'), 0) AS refunded
        FROM payments p JOIN fulfilled f ON f.id = p.order_id GROUP BY p.order_id
      ), restocked AS (
        SELECT m.order_id, sum(m.quantity_delta)::int AS units
        FROM stock_movements m JOIN fulfilled f ON f.id = m.order_id
        WHERE m.type = 'RESTOCK' GROUP BY m.order_id
      )
      SELECT f.id AS "orderId", f.status, coalesce(m.captured, 0)::text AS captured,
             coalesce(m.refunded, 0)::text AS refunded, coalesce(r.units, 0) AS "restockedUnits",
             CASE WHEN coalesce(r.units, 0) > 0 THEN 'stock restocked while fulfilled'
                  ELSE 'money refunded while fulfilled' END AS rule
      FROM fulfilled f LEFT JOIN money m ON m.order_id = f.id LEFT JOIN restocked r ON r.order_id = f.id
      -- More refunded than captured is money_balances' 'refunded exceeds captured' (also without window).
      WHERE coalesce(r.units, 0) > 0 OR (m.refunded > 0 AND m.refunded = m.captured)
      ORDER BY f.updated_at`,
  },
  {
    name: 'saga_terminal',
    group: 'orders',
    severity: 'violation',
    description:
      'Every settled order at rest has a finished saga (COMPLETED or COMPENSATED; NEEDS_ATTENTION is listed apart): ' +
      'no saga still running, waiting or compensating behind a final status.',
    sql: `
      SELECT o.id AS "orderId", o.status, s.status AS "sagaStatus", s.current_step AS "sagaStep"
      FROM orders o
      JOIN saga_state s ON s.order_id = o.id AND s.saga_type = '${CHECKOUT_SAGA}'
      WHERE ${AT_REST} AND o.status = ANY(:settled) AND s.status IN ${UNFINISHED_SAGA}
      ORDER BY o.updated_at`,
  },
  {
    name: 'order_totals',
    group: 'orders',
    severity: 'violation',
    description:
      "Every order's total is the sum of its line totals, and each line total is unit price x quantity " +
      "(prices are stored in the order's currency).",
    sql: `
      WITH lines AS (
        SELECT order_id, sum(line_total) AS total,
               count(*) FILTER (WHERE line_total <> round(unit_price * quantity, 2))::int AS "badLines"
        FROM order_items GROUP BY order_id
      )
      SELECT o.id AS "orderId", o.currency, o.total_amount::text AS "totalAmount",
             coalesce(l.total, 0)::text AS "linesTotal", coalesce(l."badLines", 0) AS "badLines"
      FROM orders o LEFT JOIN lines l ON l.order_id = o.id
      WHERE o.total_amount <> coalesce(l.total, 0) OR l."badLines" > 0
      ORDER BY o.created_at`,
  },
  {
    name: 'money_balances',
    group: 'money',
    severity: 'violation',
    description:
      'Per order (SUCCEEDED payments): refunded <= captured <= total always; once at rest, ' +
      'CONFIRMED/SHIPPED/DELIVERED have captured = total and captured - refunded > 0, ' +
      'CANCELLED/PAYMENT_FAILED have captured - refunded = 0, REFUNDED has refunded = captured.',
    sql: `
      WITH ledger AS (
        SELECT order_id,
               coalesce(sum(amount) FILTER (WHERE kind = 'CHARGE' AND status = 'SUCCEEDED'), 0) AS captured,
               coalesce(sum(amount) FILTER (WHERE kind = 'REFUND' AND status = 'SUCCEEDED'), 0) AS refunded
        FROM payments GROUP BY order_id
      ), balances AS (
        SELECT o.id, o.status, o.total_amount, o.updated_at,
               coalesce(l.captured, 0) AS captured, coalesce(l.refunded, 0) AS refunded,
               ${AT_REST} AS at_rest
        FROM orders o LEFT JOIN ledger l ON l.order_id = o.id
        WHERE l.order_id IS NOT NULL OR o.status IN ${PAID_STATUSES} OR o.status = 'REFUNDED'
      ), checked AS (
        SELECT b.*, CASE
          WHEN refunded > captured THEN 'refunded exceeds captured'
          WHEN captured > total_amount THEN 'captured exceeds total'
          WHEN at_rest AND status IN ${PAID_STATUSES} AND captured <> total_amount THEN 'captured differs from total'
          WHEN at_rest AND status IN ${PAID_STATUSES} AND captured - refunded <= 0 THEN 'nothing kept for a paid order'
          WHEN at_rest AND status IN ${UNPAID_STATUSES} AND captured - refunded <> 0 THEN 'money kept for an unpaid order'
          WHEN at_rest AND status = 'REFUNDED' AND refunded <> captured THEN 'refunded order not fully refunded'
        END AS rule
        FROM balances b
      )
      SELECT id AS "orderId", status, total_amount AS "totalAmount", captured::text AS captured,
             refunded::text AS refunded, rule
      FROM checked WHERE rule IS NOT NULL
      ORDER BY updated_at`,
  },
  {
    name: 'money_one_charge',
    group: 'money',
    severity: 'violation',
    description: 'At most one live (PENDING or SUCCEEDED) charge per order.',
    sql: `
      SELECT order_id AS "orderId", count(*)::int AS "liveCharges",
             count(*) FILTER (WHERE status = 'SUCCEEDED')::int AS "succeededCharges"
      FROM payments
      WHERE kind = 'CHARGE' AND status IN ('PENDING', 'SUCCEEDED')
      GROUP BY order_id HAVING count(*) > 1
      ORDER BY min(created_at)`,
  },
  {
    name: 'money_orphan_payments',
    group: 'money',
    severity: 'violation',
    description: 'No payment without its order.',
    sql: `
      SELECT p.id AS "paymentId", p.order_id AS "orderId", p.kind, p.status, p.amount
      FROM payments p
      WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = p.order_id)
      ORDER BY p.created_at`,
  },
  {
    name: 'payments_in_doubt',
    group: 'money',
    severity: 'violation',
    description:
      'No settled order at rest has a charge or refund still PENDING (an answer from the gateway never recorded).',
    sql: `
      SELECT p.id AS "paymentId", p.order_id AS "orderId", o.status, p.kind, p.amount::text AS amount,
             p.updated_at AS "since"
      FROM payments p JOIN orders o ON o.id = p.order_id
      WHERE p.status = 'PENDING' AND o.status = ANY(:settled) AND ${AT_REST}
      ORDER BY p.updated_at`,
  },
  {
    name: 'refunds_match_status',
    group: 'money',
    severity: 'violation',
    description: 'Every REFUNDED order at rest had money refunded (at least one SUCCEEDED refund).',
    sql: `
      SELECT o.id AS "orderId", o.status, o.total_amount::text AS "totalAmount"
      FROM orders o
      WHERE o.status = 'REFUNDED' AND ${AT_REST}
        AND NOT EXISTS (
          SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.kind = 'REFUND' AND p.status = 'SUCCEEDED')
      ORDER BY o.updated_at`,
  },
  {
    name: 'payments_in_order_currency',
    group: 'money',
    severity: 'violation',
    description: "Every charge and refund is in its order's currency.",
    sql: `
      SELECT p.id AS "paymentId", p.order_id AS "orderId", p.kind, p.currency, o.currency AS "orderCurrency"
      FROM payments p JOIN orders o ON o.id = p.order_id
      WHERE p.currency <> o.currency
      ORDER BY p.created_at`,
  },
  {
    name: 'stock_reserved_matches_reservations',
    group: 'stock',
    severity: 'violation',
    description: 'Per product, reserved_quantity equals the sum of its ACTIVE reservations.',
    sql: `
      WITH active AS (
        SELECT product_id, sum(quantity)::int AS quantity
        FROM inventory_reservations WHERE status = 'ACTIVE' GROUP BY product_id
      )
      SELECT coalesce(i.product_id, a.product_id) AS "productId",
             i.reserved_quantity AS "reservedQuantity", coalesce(a.quantity, 0) AS "activeReservations"
      FROM inventory i FULL JOIN active a ON a.product_id = i.product_id
      WHERE i.product_id IS NULL OR i.reserved_quantity <> coalesce(a.quantity, 0)
      ORDER BY 1`,
  },
  {
    name: 'stock_matches_ledger',
    group: 'stock',
    severity: 'violation',
    description: 'Per product, quantity and reserved_quantity equal the sums of the stock-movement ledger.',
    sql: `
      WITH ledger AS (
        SELECT product_id, sum(quantity_delta)::int AS quantity, sum(reserved_delta)::int AS reserved
        FROM stock_movements GROUP BY product_id
      )
      SELECT coalesce(i.product_id, l.product_id) AS "productId",
             i.quantity, coalesce(l.quantity, 0) AS "ledgerQuantity",
             i.reserved_quantity AS "reservedQuantity", coalesce(l.reserved, 0) AS "ledgerReserved"
      FROM inventory i FULL JOIN ledger l ON l.product_id = i.product_id
      WHERE i.product_id IS NULL
         OR i.quantity <> coalesce(l.quantity, 0)
         OR i.reserved_quantity <> coalesce(l.reserved, 0)
      ORDER BY 1`,
  },
  {
    name: 'stock_non_negative',
    group: 'stock',
    severity: 'violation',
    description: 'No negative quantity or reservation, and never more reserved than on hand.',
    sql: `
      SELECT product_id AS "productId", quantity, reserved_quantity AS "reservedQuantity"
      FROM inventory
      WHERE quantity < 0 OR reserved_quantity < 0 OR reserved_quantity > quantity
      UNION ALL
      SELECT product_id, quantity, NULL FROM inventory_reservations WHERE quantity <= 0
      ORDER BY 1`,
  },
  {
    name: 'stock_sold_matches_confirmed',
    group: 'stock',
    severity: 'violation',
    description:
      'Per product, sold according to the ledger (CONFIRM units minus RESTOCK units) equals the ' +
      'quantity of its CONFIRMED reservations.',
    sql: `
      WITH ledger AS (
        SELECT product_id,
               (coalesce(-sum(quantity_delta) FILTER (WHERE type = 'CONFIRM'), 0)
                - coalesce(sum(quantity_delta) FILTER (WHERE type = 'RESTOCK'), 0))::int AS sold
        FROM stock_movements WHERE type IN ('CONFIRM', 'RESTOCK') GROUP BY product_id
      ), confirmed AS (
        SELECT product_id, sum(quantity)::int AS quantity
        FROM inventory_reservations WHERE status = 'CONFIRMED' GROUP BY product_id
      )
      SELECT coalesce(l.product_id, c.product_id) AS "productId",
             coalesce(l.sold, 0) AS "ledgerSold", coalesce(c.quantity, 0) AS "confirmedReservations"
      FROM ledger l FULL JOIN confirmed c ON c.product_id = l.product_id
      WHERE coalesce(l.sold, 0) <> coalesce(c.quantity, 0)
      ORDER BY 1`,
  },
  {
    name: 'stock_orders_settled',
    group: 'stock',
    severity: 'violation',
    description:
      'Per order at rest: CONFIRMED/SHIPPED/DELIVERED sold exactly their lines (CONFIRMED ' +
      'reservations), CANCELLED/PAYMENT_FAILED hold no ACTIVE or CONFIRMED reservation, no settled ' +
      'order holds an ACTIVE one.',
    sql: `
      WITH resting AS (
        SELECT o.id, o.status, o.updated_at FROM orders o
        WHERE ${AT_REST} AND o.status = ANY(:settled)
      ), items AS (
        SELECT i.order_id, i.product_id, i.quantity FROM order_items i JOIN resting r ON r.id = i.order_id
      ), held AS (
        SELECT v.order_id, v.product_id,
               coalesce(sum(v.quantity) FILTER (WHERE v.status = 'CONFIRMED'), 0)::int AS confirmed,
               coalesce(sum(v.quantity) FILTER (WHERE v.status = 'ACTIVE'), 0)::int AS active
        FROM inventory_reservations v JOIN resting r ON r.id = v.order_id
        GROUP BY v.order_id, v.product_id
      ), lines AS (
        SELECT coalesce(i.order_id, h.order_id) AS order_id, coalesce(i.product_id, h.product_id) AS product_id,
               coalesce(i.quantity, 0) AS ordered, coalesce(h.confirmed, 0) AS confirmed,
               coalesce(h.active, 0) AS active
        FROM items i FULL JOIN held h ON h.order_id = i.order_id AND h.product_id = i.product_id
      )
      SELECT r.id AS "orderId", r.status, l.product_id AS "productId", l.ordered, l.confirmed, l.active
      FROM lines l JOIN resting r ON r.id = l.order_id
      WHERE l.active > 0
         OR (r.status IN ${PAID_STATUSES} AND l.confirmed <> l.ordered)
         OR (r.status IN ${UNPAID_STATUSES} AND l.confirmed > 0)
      ORDER BY r.updated_at, l.product_id`,
  },
  {
    name: 'outbox_unpublished',
    group: 'outbox',
    severity: 'violation',
    description:
      'No outbox event still unpublished longer than the lag threshold after it became due ' +
      '(created, or scheduled for a replay).',
    sql: `
      SELECT id AS "eventId", event_type AS "eventType", aggregate_id AS "aggregateId",
             created_at AS "createdAt", attempts, last_error AS "lastError"
      FROM outbox_events
      WHERE processed_at IS NULL AND parked_at IS NULL
        AND (CASE WHEN replay_count = 0 THEN created_at ELSE available_at END)
            < now() - make_interval(secs => :lag)
      ORDER BY created_at`,
  },
  {
    name: 'outbox_parked',
    group: 'outbox',
    severity: 'attention',
    description: 'Events the relay gave up publishing (parked): replay them once the cause is fixed.',
    sql: `
      SELECT id AS "eventId", event_type AS "eventType", aggregate_id AS "aggregateId",
             parked_at AS "parkedAt", attempts, last_error AS "lastError"
      FROM outbox_events
      WHERE parked_at IS NOT NULL AND processed_at IS NULL
      ORDER BY parked_at`,
  },
  {
    name: 'outbox_order_created_once',
    group: 'outbox',
    severity: 'violation',
    description:
      'Every order younger than the outbox retention has exactly one OrderCreated event (nothing accepted is lost).',
    sql: `
      SELECT o.id AS "orderId", o.created_at AS "createdAt", count(e.id)::int AS events
      FROM orders o
      LEFT JOIN outbox_events e
        ON e.aggregate_type = 'order' AND e.aggregate_id = o.id AND e.event_type = 'OrderCreated'
      WHERE o.created_at > now() - make_interval(hours => :retention)
      GROUP BY o.id, o.created_at HAVING count(e.id) <> 1
      ORDER BY o.created_at`,
  },
  {
    name: 'outbox_one_effect',
    group: 'outbox',
    severity: 'violation',
    description:
      'Every OrderCreated event published longer ago than the recovery window points at an existing ' +
      'order and started exactly one checkout saga.',
    sql: `
      SELECT e.id AS "eventId", e.aggregate_id AS "orderId", (o.id IS NOT NULL) AS "orderExists",
             count(s.id)::int AS sagas
      FROM outbox_events e
      LEFT JOIN orders o ON o.id = e.aggregate_id
      LEFT JOIN saga_state s ON s.order_id = e.aggregate_id AND s.saga_type = '${CHECKOUT_SAGA}'
      WHERE e.event_type = 'OrderCreated' AND e.processed_at < now() - make_interval(secs => :window)
      GROUP BY e.id, e.aggregate_id, o.id
      HAVING o.id IS NULL OR count(s.id) <> 1
      ORDER BY min(e.created_at)`,
  },
  {
    name: 'notifications_one_per_outcome',
    group: 'notifications',
    severity: 'violation',
    description:
      'Per order at rest: one order-confirmation per channel for an order that was confirmed ' +
      '(CONFIRMED/SHIPPED/DELIVERED/REFUNDED) and no payment-failed notice; one payment-failed notice ' +
      'per channel for PAYMENT_FAILED and no confirmation.',
    sql: `
      WITH resting AS (
        SELECT o.id, o.status, o.updated_at,
               CASE WHEN o.status = 'PAYMENT_FAILED' THEN 'payment-failed' ELSE 'order-confirmation' END AS expected,
               CASE WHEN o.status = 'PAYMENT_FAILED' THEN 'order-confirmation' ELSE 'payment-failed' END AS contrary
        FROM orders o
        WHERE ${AT_REST} AND (o.status IN ${CONFIRMED_ONCE} OR o.status = 'PAYMENT_FAILED')
      ), sent AS (
        SELECT n.order_id, n.template, n.channel, count(*)::int AS n
        FROM notifications n JOIN resting r ON r.id = n.order_id
        WHERE n.template IN ('order-confirmation', 'payment-failed')
        GROUP BY n.order_id, n.template, n.channel
      ), per_order AS (
        SELECT r.id, r.status, r.updated_at, r.expected,
               coalesce(sum(s.n) FILTER (WHERE s.template = r.expected), 0)::int AS sent,
               coalesce(max(s.n) FILTER (WHERE s.template = r.expected), 0)::int AS "mostPerChannel",
               coalesce(sum(s.n) FILTER (WHERE s.template = r.contrary), 0)::int AS contrary
        FROM resting r LEFT JOIN sent s ON s.order_id = r.id
        GROUP BY r.id, r.status, r.updated_at, r.expected
      )
      SELECT id AS "orderId", status, expected AS template, sent, contrary, CASE
          WHEN sent = 0 THEN 'no ' || expected || ' notice'
          WHEN "mostPerChannel" > 1 THEN 'several ' || expected || ' notices on one channel'
          ELSE 'a contrary notice was sent'
        END AS rule
      FROM per_order
      WHERE sent = 0 OR "mostPerChannel" > 1 OR contrary > 0
      ORDER BY updated_at`,
  },
  {
    name: 'dead_letters_waiting',
    group: 'queues',
    severity: 'attention',
    description:
      'Dead letters still OPEN longer than the dead-letter age threshold: replay or discard them once the cause is fixed.',
    sql: `
      SELECT id AS "deadLetterId", queue, job_name AS "jobName", failure_reason AS "failureReason",
             attempts, created_at AS "createdAt"
      FROM dead_letters
      WHERE status = 'OPEN' AND created_at < now() - make_interval(secs => :deadletterage)
      ORDER BY created_at`,
  },
  {
    name: 'webhooks_delivered',
    group: 'webhooks',
    severity: 'violation',
    description:
      'No announced order event older than the webhook retry horizon without a delivery outcome: every enabled ' +
      'endpoint subscribed to it (unchanged since) has its delivery, and no delivery stays pending longer than ' +
      'the horizon after its last attempt.',
    sql: `
      WITH announced AS (
        SELECT e.id, e.created_at,
               CASE WHEN e.event_type = 'OrderCreated' THEN 'order.created'
                    ELSE 'order.' || lower(e.payload->>'to') END AS type
        FROM outbox_events e
        WHERE e.event_type IN ('OrderCreated', 'OrderStatusChanged')
          AND e.created_at < now() - make_interval(secs => :horizon)
          AND e.created_at > now() - make_interval(hours => :retention)
          -- A one-time filter: without an enabled endpoint the outbox is not scanned at all.
          AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE status = 'enabled')
      )
      SELECT a.id AS "eventId", a.type AS "eventType", ep.id AS "endpointId", 'no delivery' AS problem,
             a.created_at AS "since"
      FROM announced a
      JOIN webhook_endpoints ep ON ep.status = 'enabled' AND a.type = ANY(ep.events) AND ep.updated_at <= a.created_at
      WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = ep.id AND d.event_id = a.id)
      UNION ALL
      SELECT d.event_id, d.event_type, d.endpoint_id, 'still pending', coalesce(d.last_attempt_at, d.created_at)
      FROM webhook_deliveries d JOIN webhook_endpoints ep ON ep.id = d.endpoint_id AND ep.status = 'enabled'
      WHERE d.status = 'pending' AND coalesce(d.last_attempt_at, d.created_at) < now() - make_interval(secs => :horizon)
      ORDER BY 5`,
  },
  {
    name: 'idempotency_one_order_per_key',
    group: 'idempotency',
    severity: 'violation',
    description:
      "One order per (user, Idempotency-Key), and a stored response only ever points at that user's order made with that key.",
    sql: `
      SELECT user_id AS "userId", idempotency_key AS "key", count(*)::int AS orders,
             'several orders for one key' AS rule
      FROM orders WHERE idempotency_key IS NOT NULL
      GROUP BY user_id, idempotency_key HAVING count(*) > 1
      UNION ALL
      SELECT r.user_id, r.key, count(o.id)::int,
             CASE WHEN o.id IS NULL THEN 'stored response names no order'
                  ELSE 'stored response names another order' END
      FROM idempotency_records r LEFT JOIN orders o ON o.id = r.resource_id
      WHERE r.status = 'COMPLETED'
        AND (o.id IS NULL OR o.user_id <> r.user_id OR o.idempotency_key IS DISTINCT FROM r.key)
      GROUP BY r.user_id, r.key, o.id
      ORDER BY 1, 2`,
  },
];

export const SETTLED = [...SETTLED_STATUSES];
