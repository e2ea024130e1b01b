import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { atomically, inTransaction, isInTransaction, Tx } from '../../platform/database/transaction';
import { offsetOf, Page, pageOf, PageRequest } from '../../platform/http/pagination';
import { MetricsService } from '../../platform/metrics/metrics.service';
import {
  InsufficientStockError,
  InvalidStockAdjustmentError,
  ReservationNotActiveError,
  StockRecordNotFoundError,
  StockShortage,
} from './inventory.errors';
import { InventoryRepository } from './inventory.repository';
import { InventoryItem, LedgerEntry, Reservation, StockLevels, StockLine } from './inventory.types';
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

const SYSTEM = 'system';
const RESERVATION_KEY = 'inventory_reservations_order_product_key';

/**
 * Stock for the order saga and the admin API. Every method joins the caller's transaction when given
 * one (inside a savepoint, so a failure undoes only this method's work) and opens its own otherwise. Each use case is one transaction of conditional
 * statements (never read-then-write), so concurrency can neither oversell nor require retries; and
 * each is idempotent per order: a replayed reserve returns the first reservations, a replayed
 * release, confirm or restock changes nothing.
 */
@Injectable()
export class InventoryService {
  private readonly logger = new Logger(InventoryService.name);
  private readonly reservations: Counter<'result'>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: InventoryRepository,
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
    const levels = await this.repository.findLevels(
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
        const outcome = await this.repository.reserveLines(t, {
          orderId: request.orderId,
          lines,
          ttlSeconds,
          actor,
        });
        if (!outcome) {
          const levels = await this.repository.findLevels(
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
        const existing = await this.repository.findReservations(this.dataSource.manager, request.orderId);
        return existing.map(withoutDue);
      }
      throw error;
    }
  }

  /** Gives back the order's ACTIVE reservations; released, expired or confirmed ones are left alone. */
  async release(tx: Tx, orderId: string, options: ReleaseOptions): Promise<Reservation[]> {
    return atomically(this.dataSource, tx, async (t) => {
      const active = (await this.repository.findReservations(t, orderId, true)).filter(
        (r) => r.status === 'ACTIVE',
      );
      if (active.length === 0) {
        return [];
      }
      await this.repository.markReservations(
        t,
        active.map((r) => r.id),
        'RELEASED',
        options.reason,
      );
      for (const r of active) {
        await this.mustApply(t, {
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
      const outcome = await this.repository.confirmReservations(t, orderId, options.actor ?? SYSTEM);
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
      const confirmed = (await this.repository.findReservations(t, orderId, true)).filter(
        (r) => r.status === 'CONFIRMED',
      );
      if (confirmed.length === 0) {
        return [];
      }
      await this.repository.markReservations(
        t,
        confirmed.map((r) => r.id),
        'RELEASED',
        options.reason,
      );
      for (const r of confirmed) {
        await this.mustApply(t, {
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

  async replenish(
    tx: Tx,
    productId: string,
    quantity: number,
    options: { actor?: string; reason?: string } = {},
  ): Promise<StockLevels> {
    if (!Number.isInteger(quantity) || quantity <= 0) {
      throw new RangeError(`replenish quantity must be a positive integer (got ${quantity})`);
    }
    return atomically(this.dataSource, tx, async (t) => {
      await this.assertProductExists(t, productId);
      return this.mustApply(t, {
        productId,
        type: 'REPLENISH',
        quantityDelta: quantity,
        reservedDelta: 0,
        actor: options.actor ?? SYSTEM,
        reason: options.reason ?? null,
      });
    });
  }

  /** A manual correction (stock count, damage); refused when it would go below what is reserved. */
  async adjust(
    tx: Tx,
    productId: string,
    delta: number,
    options: { actor: string; reason: string },
  ): Promise<StockLevels> {
    if (!Number.isInteger(delta) || delta === 0) {
      throw new RangeError(`adjustment must be a non-zero integer (got ${delta})`);
    }
    return atomically(this.dataSource, tx, async (t) => {
      await this.assertProductExists(t, productId);
      const levels = await this.repository.applyMovement(t, {
        productId,
        type: 'ADJUST',
        quantityDelta: delta,
        reservedDelta: 0,
        actor: options.actor,
        reason: options.reason,
      });
      if (!levels) {
        throw new InvalidStockAdjustmentError(
          `Adjusting product ${productId} by ${delta} would leave less stock than is reserved.`,
        );
      }
      return levels;
    });
  }

  /** The stock record of a new product, in the product's transaction; initial stock is a REPLENISH. */
  async createStockRecord(
    tx: EntityManager,
    productId: string,
    options: { initialStock?: number; lowStockThreshold?: number; actor: string },
  ): Promise<StockLevels> {
    await this.repository.createStockRecord(tx, productId, options.lowStockThreshold);
    if (options.initialStock && options.initialStock > 0) {
      return this.mustApply(tx, {
        productId,
        type: 'REPLENISH',
        quantityDelta: options.initialStock,
        reservedDelta: 0,
        actor: options.actor,
        reason: 'initial stock',
      });
    }
    return { productId, quantity: 0, reservedQuantity: 0, availableQuantity: 0 };
  }

  /** Releases one batch of due reservations (status EXPIRED, ledger EXPIRE); returns how many. */
  async expireDue(batchSize = this.config.inventory.expiryBatchSize): Promise<Reservation[]> {
    return this.dataSource.transaction(async (t) => {
      const expired = await this.repository.expireDue(t, batchSize, 'TTL_EXPIRED');
      for (const r of expired) {
        await this.mustApply(t, {
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

  async getLevels(productId: string): Promise<StockLevels> {
    const [levels] = await this.repository.findLevels(this.dataSource.manager, [productId]);
    if (!levels) {
      throw new StockRecordNotFoundError(productId);
    }
    return levels;
  }

  async list(q: PageRequest & { lowStock: boolean }): Promise<Page<InventoryItem>> {
    return this.repository.list(this.dataSource.manager, q);
  }

  async movements(productId: string, q: { page: number; limit: number }): Promise<Page<LedgerEntry>> {
    await this.assertProductExists(this.dataSource.manager, productId);
    const { entries, total } = await this.repository.movements(this.dataSource.manager, productId, {
      offset: offsetOf(q.page, q.limit),
      limit: q.limit,
    });
    return pageOf(entries, q.page, q.limit, total);
  }

  private async assertProductExists(tx: EntityManager, productId: string): Promise<void> {
    const [levels] = await this.repository.findLevels(tx, [productId]);
    if (!levels) {
      throw new StockRecordNotFoundError(productId);
    }
  }

  /** For movements the reservation already guarantees; a refusal means the data is corrupt. */
  private async mustApply(
    tx: EntityManager,
    movement: Parameters<InventoryRepository['applyMovement']>[1],
  ): Promise<StockLevels> {
    const levels = await this.repository.applyMovement(tx, movement);
    if (!levels) {
      this.logger.error({ movement }, 'stock movement refused by the inventory constraints');
      throw new Error(`${movement.type} of product ${movement.productId} was refused by the stock levels`);
    }
    return levels;
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
