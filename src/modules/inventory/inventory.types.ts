/** What the inventory hands out: plain values, no entities, so sagas and HTTP share them. */

export type MovementType = 'REPLENISH' | 'RESERVE' | 'RELEASE' | 'CONFIRM' | 'EXPIRE' | 'ADJUST' | 'RESTOCK';
export type ReservationStatus = 'ACTIVE' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED';

export interface StockLine {
  productId: string;
  quantity: number;
}

export interface StockLevels {
  productId: string;
  quantity: number;
  reservedQuantity: number;
  availableQuantity: number;
}

export interface InventoryItem extends StockLevels {
  sku: string;
  name: string;
  lowStockThreshold: number;
  lowStock: boolean;
  updatedAt: Date;
}

export interface Reservation {
  id: string;
  orderId: string | null;
  productId: string;
  quantity: number;
  status: ReservationStatus;
  expiresAt: Date;
  releaseReason: string | null;
}

/** One change of stock: applied to the levels and appended to the ledger by one statement. */
export interface StockMovement {
  productId: string;
  type: MovementType;
  quantityDelta: number;
  reservedDelta: number;
  orderId?: string | null;
  reservationId?: string | null;
  actor: string;
  reason?: string | null;
}

export interface LedgerEntry {
  id: string;
  productId: string;
  type: MovementType;
  quantityDelta: number;
  reservedDelta: number;
  orderId: string | null;
  reservationId: string | null;
  actor: string;
  reason: string | null;
  createdAt: Date;
}
