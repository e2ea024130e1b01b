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

/**
 * States whose reaching is announced to other systems: the status change writes an OrderStatusChanged
 * outbox event in its own statement (webhooks, docs/webhooks.md). PROCESSING and PAYMENT_PENDING are
 * internal steps of the saga.
 */
export const ANNOUNCED_STATUSES: readonly OrderStatus[] = [
  'CONFIRMED',
  'PAYMENT_FAILED',
  'CANCELLED',
  'SHIPPED',
  'DELIVERED',
  'REFUNDED',
];

/**
 * States from which nothing can follow, read off the table: DELIVERED is not one, a refund may follow it.
 * An SSE stream ends only here (docs/decisions.md, 2026-12-01).
 */
export const TERMINAL_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter(
  (status) => ORDER_TRANSITIONS[status].length === 0,
);

/** Moves that hand goods or money over for good (admin actions): refused while the order is being undone. */
export const FULFILMENT_STATUSES: readonly OrderStatus[] = ['SHIPPED', 'DELIVERED', 'REFUNDED'];

/**
 * Saga statuses meaning the order is being (or was) undone: a cancellation was accepted, or a failure
 * is being compensated, or a compensation waits for an operator. No fulfilment move may follow them.
 */
export const UNDOING_SAGA_STATUSES = ['COMPENSATING', 'COMPENSATED', 'NEEDS_ATTENTION'] as const;

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

/** A fulfilment move (ship, deliver, refund) asked for while the order's cancellation is under way. */
export class CancellationInProgressError extends ConflictError {
  constructor(
    readonly to: OrderStatus,
    readonly sagaStatus: string,
  ) {
    super(
      `The order is being cancelled (saga ${sagaStatus}) and cannot become ${to}.`,
      'CANCELLATION_IN_PROGRESS',
    );
  }
}
