import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { preparedQuery } from '../../platform/database/prepared';
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
   * Reserves one line: the conditional UPDATE (only where quantity - reserved >= n), the reservation row
   * and its RESERVE ledger row in one statement. Null when the stock is short; a second reservation of
   * the same (order, product) fails on the unique index.
   */
  async reserveLine(
    tx: EntityManager,
    line: { orderId: string | null; productId: string; quantity: number; ttlSeconds: number; actor: string },
  ): Promise<Reservation | null> {
    const { rows } = await preparedQuery<ReservationRow>(
      tx,
      `WITH changed AS (
         UPDATE inventory
            SET reserved_quantity = reserved_quantity + $2, version = version + 1, updated_at = now()
          WHERE product_id = $1 AND quantity - reserved_quantity >= $2
          RETURNING product_id
       ), reservation AS (
         INSERT INTO inventory_reservations (order_id, product_id, quantity, expires_at)
         SELECT $3, product_id, $2, now() + make_interval(secs => $4) FROM changed
         RETURNING ${RESERVATION_COLUMNS}
       ), logged AS (
         INSERT INTO stock_movements (product_id, type, quantity_delta, reserved_delta, order_id, reservation_id, actor)
         SELECT product_id, 'RESERVE', 0, quantity, order_id, id, $5 FROM reservation
       )
       SELECT ${RESERVATION_COLUMNS} FROM reservation`,
      [line.productId, line.quantity, line.orderId, line.ttlSeconds, line.actor],
    );
    return rows[0] ? toReservation(rows[0]) : null;
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
      `SELECT i.product_id, i.quantity, i.reserved_quantity
         FROM inventory i JOIN products p ON p.id = i.product_id
        WHERE i.product_id = ANY($1::uuid[]) AND p.deleted_at IS NULL`,
      [productIds],
    );
    return rows.map(toLevels);
  }

  async list(
    tx: EntityManager,
    q: { offset: number; limit: number; lowStock: boolean },
  ): Promise<{ items: InventoryItem[]; total: number }> {
    const where = `p.deleted_at IS NULL ${q.lowStock ? 'AND i.quantity - i.reserved_quantity <= i.low_stock_threshold' : ''}`;
    const [rows, [{ total }]] = await Promise.all([
      tx.query<(LevelsRow & { sku: string; name: string; low_stock_threshold: number; updated_at: Date })[]>(
        `SELECT i.product_id, i.quantity, i.reserved_quantity, i.low_stock_threshold, i.updated_at, p.sku, p.name
           FROM inventory i JOIN products p ON p.id = i.product_id
          WHERE ${where}
          ORDER BY i.quantity - i.reserved_quantity, i.product_id
          LIMIT $1 OFFSET $2`,
        [q.limit, q.offset],
      ),
      tx.query<[{ total: number }]>(
        `SELECT count(*)::int AS total FROM inventory i JOIN products p ON p.id = i.product_id WHERE ${where}`,
      ),
    ]);
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
    return { items, total };
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
