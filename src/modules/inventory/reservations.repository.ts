import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { preparedQuery } from '../../platform/database/prepared';
import { Reservation, ReservationStatus, StockLine } from './inventory.types';

const RESERVATION_COLUMNS = 'id, order_id, product_id, quantity, status, expires_at, release_reason';

interface ReservationJson {
  id: string;
  order_id: string;
  product_id: string;
  quantity: number;
  status: ReservationStatus;
  expires_at: string;
  release_reason: string | null;
}

const toReservation = (row: ReservationJson): Reservation => ({
  id: row.id,
  orderId: row.order_id,
  productId: row.product_id,
  quantity: row.quantity,
  status: row.status,
  expiresAt: new Date(row.expires_at),
  releaseReason: row.release_reason,
});

/**
 * What one round of `reserveBatch` found for an order. UNDECIDED: it did not fit behind orders placed
 * before it that were themselves short, so it may fit once they are left out (the next round says).
 */
export type BatchVerdict = 'RESERVED' | 'REPLAYED' | 'SHORT' | 'UNDECIDED';

export type ConfirmRefusal = 'NOT_FOUND' | 'EXPIRED' | 'RELEASED';

/**
 * The saga's stock statements for a whole batch of orders, set-based: one statement reserves (or
 * confirms) every order of the batch that can be, all or nothing per order, locking the stock rows in
 * product order like the single-order statements (inventory.repository.ts), so batches queue and never
 * deadlock.
 */
@Injectable()
export class ReservationsRepository {
  /**
   * One round of reserving a batch, in one statement. Orders are judged in `seq` order against the stock
   * locked now: an order fits when every one of its lines fits behind the demand of ALL the orders before
   * it (a running sum per product, as if they were all filled), so whatever it accepts fits together. The
   * first order that does not fit is truly short (everything before it was filled), as is any order
   * short on its own; the others behind it are UNDECIDED. An order that already has reservations gets
   * them back (REPLAYED), nothing written. `lines` must be normalised per order.
   */
  async reserveBatch(
    tx: EntityManager,
    request: {
      orders: readonly { orderId: string; seq: number; lines: readonly StockLine[] }[];
      ttlSeconds: number;
      actor: string;
    },
  ): Promise<{ verdicts: Map<string, BatchVerdict>; reservations: Reservation[] }> {
    const flat = request.orders.flatMap((o) =>
      o.lines.map((l) => ({ ...l, orderId: o.orderId, seq: o.seq })),
    );
    const { rows } = await preparedQuery<{
      changed: number;
      expected: number;
      verdicts: { orderId: string; verdict: BatchVerdict }[];
      reservations: ReservationJson[];
    }>(
      tx,
      `WITH wanted AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::int[]) AS w(order_id, seq, product_id, quantity)
       ), existing AS (
         SELECT ${RESERVATION_COLUMNS} FROM inventory_reservations WHERE order_id = ANY($1::uuid[])
       ), stock AS (
         SELECT product_id, quantity - reserved_quantity AS available
           FROM inventory WHERE product_id = ANY($3::uuid[])
          ORDER BY product_id
            FOR UPDATE
       ), lines AS (
         SELECT w.order_id, w.seq, w.product_id, w.quantity, s.available,
                sum(w.quantity) OVER (PARTITION BY w.product_id ORDER BY w.seq) AS running
           FROM wanted w LEFT JOIN stock s USING (product_id)
          WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.order_id = w.order_id)
       ), judged AS (
         SELECT order_id, min(seq) AS seq,
                bool_and(available IS NOT NULL AND running <= available) AS fits,
                bool_or(available IS NULL OR quantity > available) AS short
           FROM lines GROUP BY order_id
       ), accepted AS (
         SELECT l.* FROM lines l JOIN judged j USING (order_id) WHERE j.fits
       ), changed AS (
         UPDATE inventory i
            SET reserved_quantity = i.reserved_quantity + d.quantity, version = i.version + 1, updated_at = now()
           FROM (SELECT product_id, sum(quantity)::int AS quantity FROM accepted GROUP BY product_id) d
          WHERE i.product_id = d.product_id AND i.quantity - i.reserved_quantity >= d.quantity
          RETURNING i.product_id
       ), reservation AS (
         INSERT INTO inventory_reservations (order_id, product_id, quantity, expires_at)
         SELECT order_id, product_id, quantity, now() + make_interval(secs => $5) FROM accepted
          ORDER BY order_id, product_id
         RETURNING ${RESERVATION_COLUMNS}
       ), logged AS (
         INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, order_id, reservation_id, actor)
         SELECT product_id, 'RESERVE', 0, quantity, order_id, id, $6 FROM reservation
       )
       SELECT (SELECT count(*) FROM changed)::int AS changed,
              (SELECT count(DISTINCT product_id) FROM accepted)::int AS expected,
              (SELECT coalesce(jsonb_agg(jsonb_build_object('orderId', j.order_id, 'verdict',
                  CASE WHEN j.fits THEN 'RESERVED'
                       WHEN j.short OR j.seq = (SELECT min(seq) FROM judged WHERE NOT fits) THEN 'SHORT'
                       ELSE 'UNDECIDED' END)), '[]'::jsonb)
                 FROM judged j) AS verdicts,
              (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)
                 FROM (SELECT * FROM reservation UNION ALL SELECT * FROM existing) r) AS reservations`,
      [
        flat.map((l) => l.orderId),
        flat.map((l) => l.seq),
        flat.map((l) => l.productId),
        flat.map((l) => l.quantity),
        request.ttlSeconds,
        request.actor,
      ],
    );
    const [row] = rows;
    if (row.changed !== row.expected) {
      // The rows were locked and judged enough a moment ago in this very statement: this is corruption.
      throw new Error(`reserving a batch: ${row.changed} of ${row.expected} stock rows accepted`);
    }
    const verdicts = new Map<string, BatchVerdict>(row.verdicts.map((v) => [v.orderId, v.verdict]));
    const reservations = row.reservations.map(toReservation);
    for (const r of reservations) {
      if (!verdicts.has(r.orderId!)) {
        verdicts.set(r.orderId!, 'REPLAYED');
      }
    }
    return { verdicts, reservations };
  }

  /**
   * Turns the ACTIVE reservations of a batch of orders into sales, in one statement: an order is
   * refused whole (nothing of it written) when any of its reservations expired, was released or is due,
   * or it has none; a replay of a confirmed order changes nothing. Reservations and then stock rows are
   * locked in a fixed order.
   */
  async confirmBatch(
    tx: EntityManager,
    orderIds: readonly string[],
    actor: string,
  ): Promise<Map<string, ConfirmRefusal | null>> {
    const { rows } = await preparedQuery<{
      products: number;
      sold: number;
      verdicts: { orderId: string; refusal: ConfirmRefusal | null }[];
    }>(
      tx,
      `WITH held AS (
         SELECT ${RESERVATION_COLUMNS}, expires_at <= now() AS due
           FROM inventory_reservations WHERE order_id = ANY($1::uuid[])
          ORDER BY order_id, product_id
            FOR UPDATE
       ), stock AS (
         SELECT product_id FROM inventory
          WHERE product_id IN (SELECT product_id FROM held WHERE status = 'ACTIVE')
          ORDER BY product_id
            FOR UPDATE
       ), verdict AS (
         SELECT o.order_id,
                CASE
                  WHEN count(h.id) = 0 THEN 'NOT_FOUND'
                  WHEN bool_or(h.status = 'EXPIRED') THEN 'EXPIRED'
                  WHEN bool_or(h.status = 'RELEASED') THEN 'RELEASED'
                  WHEN bool_or(h.status = 'ACTIVE' AND h.due) THEN 'EXPIRED'
                END AS refusal
           FROM unnest($1::uuid[]) AS o(order_id) LEFT JOIN held h USING (order_id)
          GROUP BY o.order_id
       ), confirmed AS (
         UPDATE inventory_reservations r SET status = 'CONFIRMED', updated_at = now()
           FROM held h JOIN verdict v USING (order_id)
          WHERE r.id = h.id AND h.status = 'ACTIVE' AND v.refusal IS NULL
            AND (SELECT count(*) FROM stock) >= 0
          RETURNING r.id, r.order_id, r.product_id, r.quantity
       ), sold AS (
         UPDATE inventory i
            SET quantity = i.quantity - d.quantity, reserved_quantity = i.reserved_quantity - d.quantity,
                version = i.version + 1, updated_at = now()
           FROM (SELECT product_id, sum(quantity)::int AS quantity FROM confirmed GROUP BY product_id) d
          WHERE i.product_id = d.product_id
            AND i.quantity - d.quantity >= 0 AND i.reserved_quantity - d.quantity >= 0
          RETURNING i.product_id
       ), logged AS (
         INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, order_id, reservation_id, actor)
         SELECT c.product_id, 'CONFIRM', -c.quantity, -c.quantity, c.order_id, c.id, $2
           FROM confirmed c WHERE c.product_id IN (SELECT product_id FROM sold)
       )
       SELECT (SELECT count(DISTINCT product_id) FROM confirmed)::int AS products,
              (SELECT count(*) FROM sold)::int AS sold,
              (SELECT jsonb_agg(jsonb_build_object('orderId', order_id, 'refusal', refusal)) FROM verdict) AS verdicts`,
      [orderIds, actor],
    );
    const [row] = rows;
    if (row.products !== row.sold) {
      // The reservations guaranteed these movements: a refusal means the data is corrupt.
      throw new Error(`confirming a batch: ${row.sold} of ${row.products} stock rows accepted`);
    }
    return new Map(row.verdicts.map((v) => [v.orderId, v.refusal]));
  }
}
