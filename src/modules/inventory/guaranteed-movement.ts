import { Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { InventoryRepository } from './inventory.repository';
import { StockLevels } from './inventory.types';

/**
 * Applies a stock movement that a reservation or a validated request already guarantees (release, expire,
 * restock, replenish); a refusal by the stock levels means the data is corrupt, so it is logged and thrown.
 */
export async function applyGuaranteedMovement(
  repository: InventoryRepository,
  logger: Logger,
  tx: EntityManager,
  movement: Parameters<InventoryRepository['applyMovement']>[1],
): Promise<StockLevels> {
  const levels = await repository.applyMovement(tx, movement);
  if (!levels) {
    logger.error({ movement }, 'stock movement refused by the inventory constraints');
    throw new Error(`${movement.type} of product ${movement.productId} was refused by the stock levels`);
  }
  return levels;
}
