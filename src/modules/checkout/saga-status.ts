/**
 * The saga's own lifecycle, as a table beside the order's (orders/order-status.ts). Every change of a
 * saga's status goes through `moveSaga`, which refuses a move the table does not list.
 *
 *   RUNNING ⇄ WAITING → COMPLETED          (forward: a step waits for an event, then goes on)
 *   any unfinished → COMPENSATING → COMPENSATED   (undo, in reverse; a late charge reopens it)
 *   COMPENSATING → NEEDS_ATTENTION → COMPENSATING (a refund keeps failing; an admin's replay resumes it)
 */
export const SAGA_STATUSES = [
  'RUNNING',
  'WAITING',
  'COMPENSATING',
  'COMPLETED',
  'COMPENSATED',
  'NEEDS_ATTENTION',
] as const;

export type SagaStatus = (typeof SAGA_STATUSES)[number];

export const SAGA_TRANSITIONS: Record<SagaStatus, readonly SagaStatus[]> = {
  RUNNING: ['WAITING', 'COMPENSATING', 'COMPLETED'],
  WAITING: ['RUNNING', 'COMPENSATING'],
  // A confirmed order may still be cancelled before it ships: its completed saga is undone.
  COMPLETED: ['COMPENSATING'],
  COMPENSATING: ['COMPENSATED', 'NEEDS_ATTENTION'],
  // A charge that succeeded after the saga was compensated reopens the refund.
  COMPENSATED: ['COMPENSATING', 'NEEDS_ATTENTION'],
  NEEDS_ATTENTION: ['COMPENSATING'],
};

/** Statuses in which the saga has nothing more to do. */
export const FINISHED_SAGA_STATUSES: readonly SagaStatus[] = ['COMPLETED', 'COMPENSATED'];

export class IllegalSagaTransitionError extends Error {
  constructor(
    readonly from: SagaStatus,
    readonly to: SagaStatus,
  ) {
    super(`A saga in status ${from} cannot become ${to}.`);
    this.name = new.target.name;
  }
}

/** Moves a saga to `to`; staying where it is is a no-op, any move the table does not list is refused. */
export function moveSaga(saga: { status: SagaStatus }, to: SagaStatus): void {
  if (saga.status === to) {
    return;
  }
  if (!SAGA_TRANSITIONS[saga.status].includes(to)) {
    throw new IllegalSagaTransitionError(saga.status, to);
  }
  saga.status = to;
}
