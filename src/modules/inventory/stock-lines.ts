import { StockShortage } from './inventory.errors';
import { StockLevels, StockLine } from './inventory.types';

/**
 * Merges lines of the same product and sorts them by product id: the fixed order in which every
 * multi-row stock change takes its row locks, so two of them can never wait on each other.
 */
export function normalizeLines(lines: readonly StockLine[]): StockLine[] {
  const merged = new Map<string, number>();
  for (const line of lines) {
    if (!Number.isInteger(line.quantity) || line.quantity <= 0) {
      throw new RangeError(`quantity must be a positive integer (got ${line.quantity})`);
    }
    const id = line.productId.toLowerCase();
    merged.set(id, (merged.get(id) ?? 0) + line.quantity);
  }
  return [...merged.entries()]
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}

/** The lines that the given levels cannot cover; a product without levels has nothing available. */
export function findShortages(lines: readonly StockLine[], levels: readonly StockLevels[]): StockShortage[] {
  const available = new Map(levels.map((l) => [l.productId, l.availableQuantity]));
  return lines
    .map((line) => ({
      productId: line.productId,
      requested: line.quantity,
      available: available.get(line.productId) ?? 0,
    }))
    .filter((s) => s.available < s.requested);
}
