import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { InsufficientStockError, ReservationNotActiveError } from './inventory.errors';
import { InventoryRepository } from './inventory.repository';
import { Reservation, StockLine } from './inventory.types';
import { ReservationsRepository } from './reservations.repository';
import { findShortages, normalizeLines } from './stock-lines';

export interface BatchReserveRequest {
  orderId: string;
  lines: readonly StockLine[];
}

/** Per order: its reservations (new or replayed), or why it got none. */
export type BatchReservation = { reservations: Reservation[] } | { error: InsufficientStockError };

/**
 * Stock for the saga's batches, set-based: a whole batch of orders judged, reserved or confirmed by
 * one statement, all or nothing per order, inside the saga's transaction. (The single-order use
 * cases and the admin's stock are in InventoryService.)
 */
@Injectable()
export class ReservationsService {
  constructor(
    private readonly repository: ReservationsRepository,
    private readonly stock: InventoryRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** For each order, the lines the stock cannot cover now (none: it may go on), in one statement. */
  async findShortagesMany(
    tx: EntityManager,
    requests: readonly BatchReserveRequest[],
  ): Promise<Map<string, InsufficientStockError | null>> {
    const normalized = requests.map((r) => ({ orderId: r.orderId, lines: normalizeLines(r.lines) }));
    const levels = await this.stock.findLevels(tx, [
      ...new Set(normalized.flatMap((r) => r.lines.map((l) => l.productId))),
    ]);
    return new Map(
      normalized.map((r) => {
        const shortages = findShortages(r.lines, levels);
        return [r.orderId, shortages.length > 0 ? new InsufficientStockError(shortages) : null];
      }),
    );
  }

  /**
   * Reserves every line of each order or none of it, the orders judged in the order given (the first
   * come are served first). Usually one statement; when some orders were short, one more round settles
   * those that were only queued behind them.
   */
  async reserveMany(
    tx: EntityManager,
    requests: readonly BatchReserveRequest[],
    options: { actor: string },
  ): Promise<Map<string, BatchReservation>> {
    const results = new Map<string, BatchReservation>();
    let pending = requests.map((r, seq) => ({ orderId: r.orderId, seq, lines: normalizeLines(r.lines) }));
    const short: typeof pending = [];
    while (pending.length > 0) {
      const { verdicts, reservations } = await this.repository.reserveBatch(tx, {
        orders: pending,
        ttlSeconds: this.config.inventory.reservationTtlSeconds,
        actor: options.actor,
      });
      for (const order of pending) {
        const verdict = verdicts.get(order.orderId);
        if (verdict === 'RESERVED' || verdict === 'REPLAYED') {
          results.set(order.orderId, {
            reservations: reservations.filter((r) => r.orderId === order.orderId),
          });
        } else if (verdict === 'SHORT') {
          short.push(order);
        } else if (verdict === undefined) {
          throw new Error(`reserving a batch: no verdict for order ${order.orderId}`);
        }
      }
      // Each round decides at least the first order that did not fit, so this ends.
      pending = pending.filter((o) => verdicts.get(o.orderId) === 'UNDECIDED');
    }
    if (short.length > 0) {
      const levels = await this.stock.findLevels(tx, [
        ...new Set(short.flatMap((o) => o.lines.map((l) => l.productId))),
      ]);
      for (const order of short) {
        results.set(order.orderId, { error: new InsufficientStockError(findShortages(order.lines, levels)) });
      }
    }
    return results;
  }

  /** Turns each order's reservations into sales, in one statement; per order null or why it was refused. */
  async confirmMany(
    tx: EntityManager,
    orderIds: readonly string[],
    options: { actor: string },
  ): Promise<Map<string, ReservationNotActiveError | null>> {
    const refusals = await this.repository.confirmBatch(tx, orderIds, options.actor);
    return new Map(
      orderIds.map((id) => {
        const refusal = refusals.get(id) ?? null;
        return [id, refusal ? new ReservationNotActiveError(id, refusal) : null];
      }),
    );
  }
}
