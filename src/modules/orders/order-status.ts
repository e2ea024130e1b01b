import { ConflictError } from '../../platform/http/domain-error';

/**
 * The order's state machine, in one place. Any move not listed here is refused; a client asking for
 * one gets 409.
 *
 *   PENDING → PROCESSING → PAYMENT_PENDING → CONFIRMED → SHIPPED → DELIVERED
 *   exits: CANCELLED, PAYMENT_FAILED, REFUNDED
 */
export const ORDER_STATUSES = [
  'PENDING',
  'PROCESSING',
  'PAYMENT_PENDING',
  'CONFIRMED',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
  'PAYMENT_FAILED',
  'REFUNDED',
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const ORDER_TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING: ['PROCESSING', 'CANCELLED'],
  PROCESSING: ['PAYMENT_PENDING', 'CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED'],
  PAYMENT_PENDING: ['CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED'],
  CONFIRMED: ['SHIPPED', 'CANCELLED', 'REFUNDED'],
  SHIPPED: ['DELIVERED', 'REFUNDED'],
  DELIVERED: ['REFUNDED'],
  CANCELLED: [],
  PAYMENT_FAILED: [],
  REFUNDED: [],
};

/** States in which the order's processing is over (SSE streams end, the saga is done). */
export const SETTLED_STATUSES: readonly OrderStatus[] = [
  'CONFIRMED',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
  'PAYMENT_FAILED',
  'REFUNDED',
];

/** States from which nothing can follow. */
export const TERMINAL_STATUSES: readonly OrderStatus[] = [
  'DELIVERED',
  'CANCELLED',
  'PAYMENT_FAILED',
  'REFUNDED',
];

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ORDER_TRANSITIONS[from].includes(to);
}

/** The states an order must be in for a move to `to` to be legal. */
export function allowedSources(to: OrderStatus): OrderStatus[] {
  return ORDER_STATUSES.filter((from) => canTransition(from, to));
}

export class IllegalTransitionError extends ConflictError {
  constructor(
    readonly from: OrderStatus | undefined,
    readonly to: OrderStatus,
  ) {
    super(
      from ? `An order in status ${from} cannot become ${to}.` : `The order cannot become ${to}.`,
      'ILLEGAL_TRANSITION',
    );
  }
}
