import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { atomically, inTransaction, isInTransaction, Tx } from '../../platform/database/transaction';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { applyGuaranteedMovement } from './guaranteed-movement';
import { InsufficientStockError, ReservationNotActiveError, StockShortage } from './inventory.errors';
import { InventoryRepository } from './inventory.repository';
import { Reservation, StockLine } from './inventory.types';
import { ReservationsRepository } from './reservations.repository';
import { findShortages, normalizeLines } from './stock-lines';

export interface ReserveRequest {
  orderId: string;
  lines: readonly StockLine[];
  actor?: string;
  /** Overrides RESERVATION_TTL_SECONDS for this reservation. */
  ttlSeconds?: number;
}

export interface ReleaseOptions {
  reason: string;
  actor?: string;
}

export interface BatchReserveRequest {
  orderId: string;
  lines: readonly StockLine[];
}

/** Per order: its reservations (new or replayed), or why it got none. */
export type BatchReservation = { reservations: Reservation[] } | { error: InsufficientStockError };

const SYSTEM = 'system';
const RESERVATION_KEY = 'inventory_reservations_order_product_key';

/**
 * The saga's reservations: availability, reserve, release, confirm and restock of one order, their batch
 * versions, and the expiry of due reservations. (The admin's stock is in StockService.)
 *
 * One order: every method joins the caller's transaction when given one (inside a savepoint, so a failure
 * undoes only this method's work) and opens its own otherwise. Each use case is one transaction of conditional
 * statements (never read-then-write), so concurrency can neither oversell nor require retries; and each is
 * idempotent per order: a replayed reserve returns the first reservations, a replayed release, confirm or
 * restock changes nothing.
 *
 * Batches, set-based: a whole batch of orders judged, reserved or confirmed by one statement, all or nothing
 * per order, inside the saga's transaction.
 */
@Injectable()
export class ReservationsService {
  private readonly logger = new Logger(ReservationsService.name);
  private readonly reservations: Counter<'result'>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: ReservationsRepository,
    private readonly stock: InventoryRepository,
    @InjectConfig() private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.reservations = counterOn(metrics, 'aop_inventory_reservations_total', 'Reserve calls by outcome.', [
      'result',
    ]);
  }

  async checkAvailability(
    tx: Tx,
    lines: readonly StockLine[],
  ): Promise<{ available: boolean; shortages: StockShortage[] }> {
    const normalized = normalizeLines(lines);
    const levels = await this.stock.findLevels(
      tx ?? this.dataSource.manager,
      normalized.map((l) => l.productId),
    );
    const shortages = findShortages(normalized, levels);
    return { available: shortages.length === 0, shortages };
  }

  /**
   * Reserves every line or none (InsufficientStockError lists the products short), in one statement that
   * writes nothing when a line is short. Joined to a caller's transaction, a concurrent reserve of the
   * same order aborts that transaction (callers serialise per order, as the saga does under its row
   * lock); on its own, it answers with the winner's reservations.
   */
  async reserve(tx: Tx, request: ReserveRequest): Promise<Reservation[]> {
    const lines = normalizeLines(request.lines);
    const actor = request.actor ?? SYSTEM;
    const ttlSeconds = request.ttlSeconds ?? this.config.inventory.reservationTtlSeconds;
    const joined = isInTransaction(tx);
    try {
      const result = await inTransaction(this.dataSource, tx, async (t) => {
        const outcome = await this.stock.reserveLines(t, {
          orderId: request.orderId,
          lines,
          ttlSeconds,
          actor,
        });
        if (!outcome) {
          const levels = await this.stock.findLevels(
            t,
            lines.map((l) => l.productId),
          );
          throw new InsufficientStockError(findShortages(lines, levels));
        }
        return outcome;
      });
      this.reservations.inc({ result: result.replayed ? 'replayed' : 'reserved' });
      return result.reservations;
    } catch (error) {
      if (error instanceof InsufficientStockError) {
        this.reservations.inc({ result: 'insufficient_stock' });
        throw error;
      }
      // A concurrent reserve of the same order won the unique index: answer with its reservations.
      if (!joined && isUniqueViolation(error, RESERVATION_KEY)) {
        this.reservations.inc({ result: 'replayed' });
        const existing = await this.stock.findReservations(this.dataSource.manager, request.orderId);
        return existing.map(withoutDue);
      }
      throw error;
    }
  }

  /** Gives back the order's ACTIVE reservations; released, expired or confirmed ones are left alone. */
  async release(tx: Tx, orderId: string, options: ReleaseOptions): Promise<Reservation[]> {
    return atomically(this.dataSource, tx, async (t) => {
      const active = (await this.stock.findReservations(t, orderId, true)).filter(
        (r) => r.status === 'ACTIVE',
      );
      if (active.length === 0) {
        return [];
      }
      await this.stock.markReservations(
        t,
        active.map((r) => r.id),
        'RELEASED',
        options.reason,
      );
      for (const r of active) {
        await applyGuaranteedMovement(this.stock, this.logger, t, {
          productId: r.productId,
          type: 'RELEASE',
          quantityDelta: 0,
          reservedDelta: -r.quantity,
          orderId,
          reservationId: r.id,
          actor: options.actor ?? SYSTEM,
          reason: options.reason,
        });
      }
      return active.map((r) => ({
        ...withoutDue(r),
        status: 'RELEASED' as const,
        releaseReason: options.reason,
      }));
    });
  }

  /**
   * Turns the order's reservations into sales (quantity and reserved both drop), in one statement.
   * Fails with ReservationNotActiveError, having changed nothing, when any of them expired or was
   * released; a replay is a no-op.
   */
  async confirm(tx: Tx, orderId: string, options: { actor?: string } = {}): Promise<Reservation[]> {
    return inTransaction(this.dataSource, tx, async (t) => {
      const outcome = await this.stock.confirmReservations(t, orderId, options.actor ?? SYSTEM);
      if (outcome.refusal) {
        throw new ReservationNotActiveError(orderId, outcome.refusal);
      }
      if (outcome.sold !== outcome.confirmed) {
        // The reservations guaranteed these movements: a refusal means the data is corrupt. The caller's
        // transaction must not commit (the saga's does not: this is not a step failure).
        this.logger.error({ orderId, outcome }, 'confirm refused by the inventory constraints');
        throw new Error(
          `confirming order ${orderId}: ${outcome.sold} of ${outcome.confirmed} stock rows accepted`,
        );
      }
      return outcome.reservations.map((r) => ({ ...r, status: 'CONFIRMED' as const }));
    });
  }

  /**
   * Compensation after confirm: puts the sold units back on the shelf. The reservation becomes
   * RELEASED with the reason, so a replay finds nothing CONFIRMED and changes nothing.
   */
  async restock(tx: Tx, orderId: string, options: ReleaseOptions): Promise<Reservation[]> {
    return atomically(this.dataSource, tx, async (t) => {
      const confirmed = (await this.stock.findReservations(t, orderId, true)).filter(
        (r) => r.status === 'CONFIRMED',
      );
      if (confirmed.length === 0) {
        return [];
      }
      await this.stock.markReservations(
        t,
        confirmed.map((r) => r.id),
        'RELEASED',
        options.reason,
      );
      for (const r of confirmed) {
        await applyGuaranteedMovement(this.stock, this.logger, t, {
          productId: r.productId,
          type: 'RESTOCK',
          quantityDelta: r.quantity,
          reservedDelta: 0,
          orderId,
          reservationId: r.id,
          actor: options.actor ?? SYSTEM,
          reason: options.reason,
        });
      }
      return confirmed.map((r) => ({
        ...withoutDue(r),
        status: 'RELEASED' as const,
        releaseReason: options.reason,
      }));
    });
  }

  /** Releases one batch of due reservations (status EXPIRED, ledger EXPIRE); returns how many. */
  async expireDue(batchSize = this.config.inventory.expiryBatchSize): Promise<Reservation[]> {
    return this.dataSource.transaction(async (t) => {
      const expired = await this.stock.expireDue(t, batchSize, 'TTL_EXPIRED');
      for (const r of expired) {
        await applyGuaranteedMovement(this.stock, this.logger, t, {
          productId: r.productId,
          type: 'EXPIRE',
          quantityDelta: 0,
          reservedDelta: -r.quantity,
          orderId: r.orderId,
          reservationId: r.id,
          actor: 'reservation-expiry',
          reason: 'TTL_EXPIRED',
        });
      }
      return expired;
    });
  }

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

const withoutDue = ({ due: _due, ...reservation }: Reservation & { due: boolean }): Reservation =>
  reservation;

function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (!(error instanceof QueryFailedError)) {
    return false;
  }
  const driver = error.driverError as { code?: string; constraint?: string };
  return driver.code === '23505' && driver.constraint === constraint;
}

/** Reuses the metric when another instance of the service already registered it. */
function counterOn<L extends string>(
  metrics: MetricsService,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  const existing = metrics.registry.getSingleMetric(name);
  if (existing) {
    return existing as Counter<L>;
  }
  return new Counter({ name, help, labelNames, registers: [metrics.registry] });
}
