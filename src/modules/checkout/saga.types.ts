import type { TraceCarrier } from '../../platform/tracing/trace-context';
import { EntityManager } from 'typeorm';
import { DomainError } from '../../platform/http/domain-error';
import { OrderLine } from '../orders/order-line';
import { OrderStatus } from '../orders/order-status';
import { StatusChange, TransitionOptions } from '../orders/order-status.service';
import type { ChargeView } from './payment-status.reader';

import type { SagaStatus } from './saga-status';

export type { SagaStatus };

/** What a step (or a compensation) says when it returns. */
export type StepResult = 'done' | 'wait';

export interface SagaOrder {
  id: string;
  userId: string;
  status: OrderStatus;
  totalAmount: string;
  currency: string;
  paymentMethod: 'credit_card' | 'debit_card' | 'bank_transfer';
  paymentToken: string | null;
  createdAt: Date;
  /** The charge the saga judges by, read with the order: the latest, a failed one only if there is no other. */
  charge: ChargeView | null;
  /** The status of the order's saga when the order was read; null before the saga started. */
  sagaStatus: SagaStatus | null;
  items: OrderLine[];
}

/** Why the saga is undoing its work, and where the order ends. */
export interface Compensation {
  reason: string;
  finalStatus: Extract<OrderStatus, 'CANCELLED' | 'PAYMENT_FAILED'>;
  detail?: string;
  /** Completed steps still to undo, in the order they will be undone. */
  pending: string[];
}

/** Persisted in saga_state.data: everything the saga needs to resume anywhere. */
export interface SagaData {
  completed: string[];
  attempts: Record<string, number>;
  compensation?: Compensation;
  /** When the payment was last requested (ISO); a request with no answer for long is made again. */
  paymentRequestedAt?: string;
  refundRequestedAt?: string;
  reservationIds?: string[];
  paymentId?: string;
  /** W3C context of the saga's first run (tracing on): steps resumed outside any job join its trace. */
  traceContext?: TraceCarrier;
}

export interface TimelineEntry {
  step: string;
  phase: 'action' | 'compensation';
  outcome: 'completed' | 'waiting' | 'failed' | 'skipped';
  attempt: number;
  startedAt: string;
  durationMs: number;
  detail?: string;
}

export interface SagaRecord {
  id: string;
  orderId: string;
  status: SagaStatus;
  currentStep: string | null;
  history: TimelineEntry[];
  data: SagaData;
  failureReason: string | null;
  startedAt: Date;
  updatedAt: Date;
}

/** What a step gets: the saga's transaction, the order, the saga's data, and a way to move the order. */
export interface StepContext {
  tx: EntityManager;
  order: SagaOrder;
  saga: SagaRecord;
  /** The injected clock's time when this advance began. */
  now: Date;
  transition(to: OrderStatus, options?: TransitionOptions): Promise<StatusChange>;
  /** Moves several orders of the same batch in one statement (this context's order need not be among them). */
  transitionAll(ctxs: StepContext[], to: OrderStatus, options?: TransitionOptions): Promise<void>;
}

/** What a step answers for one order: done, waiting for an event, or a business failure to compensate. */
export type StepOutcome = StepResult | StepFailure;

export interface SagaStep {
  name: string;
  /** Runs inside the saga's transaction; idempotent. `wait`: an event (payment, refund) resumes the saga. */
  action(ctx: StepContext): Promise<StepResult>;
  /**
   * The same for a batch of orders, set-based (one statement for all): one outcome per context, in the
   * same order. An unexpected error fails the whole batch, whose orders are then advanced one by one.
   */
  batchAction?: (ctxs: StepContext[]) => Promise<StepOutcome[]>;
  /** Undoes the action; idempotent. Absent for steps with nothing to undo. */
  compensation?: (ctx: StepContext) => Promise<StepResult>;
  /** A failure here is recorded and the saga goes on (a notification never fails an order). */
  optional?: boolean;
}

/** The table the runner executes, and what it does once an order is undone. */
export interface SagaDefinition {
  readonly steps: SagaStep[];
  /** After the order reached its compensated status (tells the customer); a failure here is only logged. */
  onCompensated?(ctx: StepContext, compensation: Compensation): Promise<void>;
}

/** A step's business failure: the saga compensates and the order ends in `finalStatus` with `code` as its reason. */
export class StepFailure extends DomainError {
  readonly status = 409;

  constructor(
    readonly code: string,
    readonly finalStatus: Compensation['finalStatus'],
    detail?: string,
  ) {
    super(detail ?? code);
  }
}
