import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { atomically, Tx } from '../../platform/database/transaction';
import { offsetOf, Page, pageOf, PageRequest } from '../../platform/http/pagination';
import { applyGuaranteedMovement } from './guaranteed-movement';
import { InvalidStockAdjustmentError, StockRecordNotFoundError } from './inventory.errors';
import { InventoryRepository } from './inventory.repository';
import { InventoryItem, LedgerEntry, StockLevels } from './inventory.types';

const SYSTEM = 'system';

/**
 * The admin's stock: a product's stock record, replenishment and manual adjustments, levels, the list and the
 * ledger. Every write joins the caller's transaction when given one (inside a savepoint, so a failure undoes
 * only this method's work) and opens its own otherwise. (The saga's reservations are in ReservationsService.)
 */
@Injectable()
export class StockService {
  private readonly logger = new Logger(StockService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: InventoryRepository,
  ) {}

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
      return applyGuaranteedMovement(this.repository, this.logger, t, {
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
      return applyGuaranteedMovement(this.repository, this.logger, tx, {
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
}
