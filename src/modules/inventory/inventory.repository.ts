import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { keysetPage } from '../../platform/database/keyset-page';
import { preparedQuery } from '../../platform/database/prepared';
import { Page, PageRequest } from '../../platform/http/pagination';
import {
  InventoryItem,
  LedgerEntry,
  MovementType,
  Reservation,
  ReservationStatus,
  StockLevels,
  StockMovement,
} from './inventory.types';

interface LevelsRow {
  product_id: string;
  quantity: number;
  reserved_quantity: number;
}

interface ReservationRow {
  id: string;
  order_id: string | null;
  product_id: string;
  quantity: number;
  status: ReservationStatus;
  expires_at: Date;
  release_reason: string | null;
}

const RESERVATION_COLUMNS = 'id, order_id, product_id, quantity, status, expires_at, release_reason';

const toLevels = (row: LevelsRow): StockLevels => ({
  productId: row.product_id,
  quantity: row.quantity,
  reservedQuantity: row.reserved_quantity,
  availableQuantity: row.quantity - row.reserved_quantity,
});

const toReservation = (row: ReservationRow): Reservation => ({
  id: row.id,
  orderId: row.order_id,
  productId: row.product_id,
  quantity: row.quantity,
  status: row.status,
  expiresAt: row.expires_at,
  releaseReason: row.release_reason,
});

/**
 * The SQL of stock. (Statements that return rows from an UPDATE wrap it in a CTE: TypeORM answers a
 * bare UPDATE with [rows, count].) Every change is ONE conditional statement that updates the levels and appends the
 * ledger row together, so the levels can never drift from what the ledger sums to, and a shortage is
 * "no row updated" rather than a read-then-write race.
 */
@Injectable()
export class InventoryRepository {
  async createStockRecord(tx: EntityManager, productId: string, lowStockThreshold?: number): Promise<void> {
    await tx.query(
      `INSERT INTO inventory (product_id, quantity, reserved_quantity, low_stock_threshold)
       VALUES ($1, 0, 0, COALESCE($2::int, 10))`,
      [productId, lowStockThreshold ?? null],
    );
  }

  /** Applies the deltas only when every CHECK of the inventory row still holds; null when it would not. */
  async applyMovement(tx: EntityManager, m: StockMovement): Promise<StockLevels | null> {
    const { rows } = await preparedQuery<LevelsRow>(
      tx,
      `WITH changed AS (
         UPDATE inventory
            SET quantity = quantity + $2, reserved_quantity = reserved_quantity + $3,
                version = version + 1, updated_at = now()
          WHERE product_id = $1
            AND quantity + $2 >= 0 AND reserved_quantity + $3 >= 0
            AND quantity + $2 >= reserved_quantity + $3
          RETURNING product_id, quantity, reserved_quantity
       ), logged AS (
         INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, order_id, reservation_id, actor, reason)
         SELECT product_id, $4, $2, $3, $5, $6, $7, $8 FROM changed
       )
       SELECT product_id, quantity, reserved_quantity FROM changed`,
      [
        m.productId,
        m.quantityDelta,
        m.reservedDelta,
        m.type,
        m.orderId ?? null,
        m.reservationId ?? null,
        m.actor,
        m.reason ?? null,
      ],
    );
    return rows[0] ? toLevels(rows[0]) : null;
  }

  /**
   * Reserves every line or none, in one statement: it locks the lines' stock rows in product order (so
   * overlapping reservations queue instead of deadlocking), judges them as they are now, and only when
   * every line fits raises `reserved_quantity` and writes the reservation and RESERVE ledger rows. An
   * order that already has reservations gets those back (`replayed`), nothing written. Undefined when some
   * line is short: nothing was written, so a caller's transaction stays usable. `lines` must be normalised
   * (one per product, sorted). A concurrent reservation of the same (order, product) fails on the unique
   * index.
   */
  async reserveLines(
    tx: EntityManager,
    request: {
      orderId: string | null;
      lines: readonly { productId: string; quantity: number }[];
      ttlSeconds: number;
      actor: string;
    },
  ): Promise<{ reservations: Reservation[]; replayed: boolean } | undefined> {
    const { rows } = await preparedQuery<ReservationRow & { fits: boolean; replayed: boolean }>(
      tx,
      `WITH existing AS (
         SELECT ${RESERVATION_COLUMNS} FROM inventory_reservations WHERE order_id = $1
       ), wanted AS (
         SELECT product_id, quantity FROM unnest($2::uuid[], $3::int[]) AS w(product_id, quantity)
       ), stock AS (
         SELECT product_id, quantity - reserved_quantity AS available
           FROM inventory WHERE product_id = ANY($2::uuid[])
          ORDER BY product_id
            FOR UPDATE
       ), verdict AS (
         SELECT EXISTS (SELECT 1 FROM existing) AS replayed,
                count(s.product_id) = count(*) AND coalesce(bool_and(s.available >= w.quantity), false) AS fits
           FROM wanted w LEFT JOIN stock s USING (product_id)
       ), changed AS (
         UPDATE inventory i
            SET reserved_quantity = i.reserved_quantity + w.quantity, version = i.version + 1, updated_at = now()
           FROM wanted w
          WHERE i.product_id = w.product_id AND i.product_id = ANY($2::uuid[])
            AND (SELECT fits AND NOT replayed FROM verdict)
            AND i.quantity - i.reserved_quantity >= w.quantity
          RETURNING i.product_id, w.quantity
       ), reservation AS (
         INSERT INTO inventory_reservations (order_id, product_id, quantity, expires_at)
         SELECT $1, product_id, quantity, now() + make_interval(secs => $4) FROM changed
         RETURNING ${RESERVATION_COLUMNS}
       ), logged AS (
         INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, order_id, reservation_id, actor)
         SELECT product_id, 'RESERVE', 0, quantity, order_id, id, $5 FROM reservation
       )
       SELECT v.fits, v.replayed, r.*
         FROM verdict v
         LEFT JOIN (SELECT * FROM reservation UNION ALL SELECT * FROM existing) r ON true
        ORDER BY r.product_id`,
      [
        request.orderId,
        request.lines.map((l) => l.productId),
        request.lines.map((l) => l.quantity),
        request.ttlSeconds,
        request.actor,
      ],
    );
    const verdict = rows[0];
    if (verdict?.replayed) {
      return { reservations: rows.map(toReservation), replayed: true };
    }
    if (!verdict?.fits) {
      return undefined;
    }
    if (rows.length !== request.lines.length || rows.some((r) => r.id === null)) {
      // The rows were locked and judged enough a moment ago in this very statement: this is corruption.
      throw new Error(
        `reserving order ${request.orderId}: ${rows.length} of ${request.lines.length} lines written`,
      );
    }
    return { reservations: rows.map(toReservation), replayed: false };
  }

  /**
   * Turns the order's ACTIVE reservations into sales in one statement: locks them and the stock rows
   * (product order), and unless a refusal applies (none, one expired, released or due) marks them
   * CONFIRMED, lowers quantity and reserved together under the inventory's guards and writes the
   * CONFIRM ledger rows. Nothing is written when refused; a replay of a confirmed order changes nothing.
   */
  async confirmReservations(
    tx: EntityManager,
    orderId: string,
    actor: string,
  ): Promise<{
    refusal: 'NOT_FOUND' | 'EXPIRED' | 'RELEASED' | null;
    reservations: Reservation[];
    confirmed: number;
    sold: number;
  }> {
    const { rows } = await preparedQuery<
      ReservationRow & {
        refusal: 'NOT_FOUND' | 'EXPIRED' | 'RELEASED' | null;
        confirmed: number;
        sold: number;
      }
    >(
      tx,
      `WITH held AS (
         SELECT ${RESERVATION_COLUMNS}, expires_at <= now() AS due
           FROM inventory_reservations WHERE order_id = $1
          ORDER BY product_id
            FOR UPDATE
       ), stock AS (
         SELECT product_id FROM inventory
          WHERE product_id IN (SELECT product_id FROM held WHERE status = 'ACTIVE')
          ORDER BY product_id
            FOR UPDATE
       ), verdict AS (
         SELECT CASE
                  WHEN count(*) = 0 THEN 'NOT_FOUND'
                  WHEN bool_or(status = 'EXPIRED') THEN 'EXPIRED'
                  WHEN bool_or(status = 'RELEASED') THEN 'RELEASED'
                  WHEN bool_or(status = 'ACTIVE' AND due) THEN 'EXPIRED'
                END AS refusal,
                (SELECT count(*) FROM stock) AS locked
           FROM held
       ), confirmed AS (
         UPDATE inventory_reservations r SET status = 'CONFIRMED', updated_at = now()
           FROM held h
          WHERE r.id = h.id AND h.status = 'ACTIVE' AND (SELECT refusal IS NULL AND locked >= 0 FROM verdict)
          RETURNING r.id, r.order_id, r.product_id, r.quantity
       ), sold AS (
         UPDATE inventory i
            SET quantity = i.quantity - c.quantity, reserved_quantity = i.reserved_quantity - c.quantity,
                version = i.version + 1, updated_at = now()
           FROM confirmed c
          WHERE i.product_id = c.product_id
            AND i.quantity - c.quantity >= 0 AND i.reserved_quantity - c.quantity >= 0
            AND i.quantity >= i.reserved_quantity
          RETURNING i.product_id
       ), logged AS (
         INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, order_id, reservation_id, actor)
         SELECT c.product_id, 'CONFIRM', -c.quantity, -c.quantity, c.order_id, c.id, $2
           FROM confirmed c JOIN sold s USING (product_id)
       )
       SELECT v.refusal, (SELECT count(*) FROM confirmed)::int AS confirmed, (SELECT count(*) FROM sold)::int AS sold,
              h.id, h.order_id, h.product_id, h.quantity, h.status, h.expires_at, h.release_reason
         FROM verdict v LEFT JOIN held h ON true
        ORDER BY h.product_id`,
      [orderId, actor],
    );
    const first = rows[0];
    return {
      refusal: first?.refusal ?? null,
      reservations: rows.filter((r) => r.id !== null).map(toReservation),
      confirmed: first?.confirmed ?? 0,
      sold: first?.sold ?? 0,
    };
  }

  /**
   * The order's reservations in product order; `lock` takes their row locks in that fixed order. `due`
   * is judged by the database clock, the same one that wrote `expires_at`.
   */
  async findReservations(
    tx: EntityManager,
    orderId: string,
    lock = false,
  ): Promise<(Reservation & { due: boolean })[]> {
    const { rows } = await preparedQuery<ReservationRow & { due: boolean }>(
      tx,
      `SELECT ${RESERVATION_COLUMNS}, expires_at <= now() AS due FROM inventory_reservations
        WHERE order_id = $1 ORDER BY product_id ${lock ? 'FOR UPDATE' : ''}`,
      [orderId],
    );
    return rows.map((row) => ({ ...toReservation(row), due: row.due }));
  }

  /** Sets the status of reservations the caller has locked (see `findReservations`). */
  async markReservations(
    tx: EntityManager,
    ids: string[],
    to: ReservationStatus,
    reason: string | null = null,
  ): Promise<void> {
    await preparedQuery(
      tx,
      `UPDATE inventory_reservations
          SET status = $2, release_reason = COALESCE($3, release_reason), updated_at = now()
        WHERE id = ANY($1::uuid[])`,
      [ids, to, reason],
    );
  }

  /**
   * Claims a batch of due ACTIVE reservations and marks them EXPIRED. SKIP LOCKED lets several workers
   * expire side by side, and skips a reservation that a confirm is holding right now.
   */
  async expireDue(tx: EntityManager, batchSize: number, reason: string): Promise<Reservation[]> {
    const rows = await tx.query<ReservationRow[]>(
      `WITH expired AS (
         UPDATE inventory_reservations
            SET status = 'EXPIRED', release_reason = $2, updated_at = now()
          WHERE id IN (
            SELECT id FROM inventory_reservations
             WHERE status = 'ACTIVE' AND expires_at <= now()
             ORDER BY expires_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED)
          RETURNING ${RESERVATION_COLUMNS}
       )
       SELECT * FROM expired`,
      [batchSize, reason],
    );
    return rows.map(toReservation).sort(byProduct);
  }

  async findLevels(tx: EntityManager, productIds: string[]): Promise<StockLevels[]> {
    const { rows } = await preparedQuery<LevelsRow>(
      tx,
      // One primary-key probe per product, whatever the plan thinks of the array's length.
      `SELECT i.product_id, i.quantity, i.reserved_quantity
         FROM unnest($1::uuid[]) AS w(product_id)
         CROSS JOIN LATERAL (
           SELECT i.product_id, i.quantity, i.reserved_quantity
             FROM inventory i JOIN products p ON p.id = i.product_id
            WHERE i.product_id = w.product_id AND p.deleted_at IS NULL
            LIMIT 1
         ) i`,
      [productIds],
    );
    return rows.map(toLevels);
  }

  /**
   * Lowest availability first by offset; keyset pages (`cursor`) follow the products' creation time,
   * newest first (platform/database/keyset-page.ts).
   */
  async list(tx: EntityManager, q: PageRequest & { lowStock: boolean }): Promise<Page<InventoryItem>> {
    const where = ['p.deleted_at IS NULL'];
    if (q.lowStock) {
      where.push('i.quantity - i.reserved_quantity <= i.low_stock_threshold');
    }
    const page = await keysetPage<
      LevelsRow & { sku: string; name: string; low_stock_threshold: number; updated_at: Date }
    >(
      tx,
      {
        select:
          'i.product_id, i.quantity, i.reserved_quantity, i.low_stock_threshold, i.updated_at, p.sku, p.name',
        from: 'inventory i JOIN products p ON p.id = i.product_id',
        where,
        params: [],
        keyset: { createdAt: 'p.created_at', id: 'p.id', createdAtOrder: 'DESC', idOrder: 'ASC' },
        orderBy: 'i.quantity - i.reserved_quantity, i.product_id',
      },
      q,
    );
    const rows = page.data;
    const items = rows.map((row) => {
      const levels = toLevels(row);
      return {
        ...levels,
        sku: row.sku,
        name: row.name,
        lowStockThreshold: row.low_stock_threshold,
        lowStock: levels.availableQuantity <= row.low_stock_threshold,
        updatedAt: row.updated_at,
      };
    });
    return { data: items, meta: page.meta };
  }

  async movements(
    tx: EntityManager,
    productId: string,
    q: { offset: number; limit: number },
  ): Promise<{ entries: LedgerEntry[]; total: number }> {
    const [rows, [{ total }]] = await Promise.all([
      tx.query<
        {
          id: string;
          product_id: string;
          type: MovementType;
          quantity_delta: number;
          reserved_delta: number;
          order_id: string | null;
          reservation_id: string | null;
          actor: string;
          reason: string | null;
          created_at: Date;
        }[]
      >(
        `SELECT id, product_id, type, quantity_delta, reserved_delta, order_id, reservation_id, actor, reason, created_at
           FROM stock_movements WHERE product_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`,
        [productId, q.limit, q.offset],
      ),
      tx.query<[{ total: number }]>(
        `SELECT count(*)::int AS total FROM stock_movements WHERE product_id = $1`,
        [productId],
      ),
    ]);
    const entries = rows.map((r) => ({
      id: String(r.id),
      productId: r.product_id,
      type: r.type,
      quantityDelta: r.quantity_delta,
      reservedDelta: r.reserved_delta,
      orderId: r.order_id,
      reservationId: r.reservation_id,
      actor: r.actor,
      reason: r.reason,
      createdAt: r.created_at,
    }));
    return { entries, total };
  }
}

const byProduct = (a: Reservation, b: Reservation): number =>
  a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0;
