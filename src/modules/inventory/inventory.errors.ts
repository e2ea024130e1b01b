import { DomainError } from '../../platform/http/domain-error';

export interface StockShortage {
  productId: string;
  requested: number;
  available: number;
}

/** Not enough available stock for one or more lines; nothing was reserved. */
export class InsufficientStockError extends DomainError {
  readonly code = 'INSUFFICIENT_STOCK';
  readonly status = 409;
  readonly productIds: string[];

  constructor(readonly shortages: StockShortage[]) {
    super(
      `Insufficient stock for product(s) ${shortages.map((s) => s.productId).join(', ')}.`,
      shortages.map((s) => ({
        field: s.productId,
        message: `requested ${s.requested}, available ${s.available}`,
      })),
    );
    this.productIds = shortages.map((s) => s.productId);
  }
}

/** The order's reservation expired or was released before it could be confirmed. */
export class ReservationNotActiveError extends DomainError {
  readonly code = 'RESERVATION_NOT_ACTIVE';
  readonly status = 409;

  constructor(
    readonly orderId: string,
    readonly reason: 'EXPIRED' | 'RELEASED' | 'NOT_FOUND',
  ) {
    super(
      reason === 'NOT_FOUND'
        ? `Order ${orderId} has no stock reservation.`
        : `The stock reservation of order ${orderId} is ${reason.toLowerCase()}.`,
    );
  }
}

/** Unknown or deleted product (or one without a stock record). */
export class StockRecordNotFoundError extends DomainError {
  readonly code = 'PRODUCT_NOT_FOUND';
  readonly status = 404;

  constructor(productId: string) {
    super(`Product ${productId} was not found.`);
  }
}

/** An adjustment would take the quantity below zero or below what is reserved. */
export class InvalidStockAdjustmentError extends DomainError {
  readonly code = 'INVALID_STOCK_ADJUSTMENT';
  readonly status = 409;
}
