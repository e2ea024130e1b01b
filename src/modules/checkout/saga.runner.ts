import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../platform/clock';
import { inSavepoint } from '../../platform/database/transaction';
import { enrichContext } from '../../platform/http/request-context';
import { inOrderTrace, runWithOrderTraces, withSpan } from '../../platform/tracing/trace-context';
import { IllegalTransitionError, OrderStatus } from '../orders/order-status';
import { OrderStatusService, StatusChange, TransitionOptions } from '../orders/order-status.service';
import { CheckoutSaga } from './checkout.saga';
import { SagaAnnouncer } from './saga-announcer';
import { SagaCrash, SagaFaultInjector } from './saga-faults';
import { moveSaga } from './saga-status';
import { beginCompensation, validateSteps } from './saga-table';
import { SagaTimeline } from './saga-timeline';
import { SagaRepository } from './saga.repository';
import {
  SagaDefinition,
  SagaOrder,
  SagaRecord,
  SagaStep,
  StepContext,
  StepFailure,
  StepOutcome,
} from './saga.types';

/** The statuses from which a customer or an admin may still cancel: before shipping. */
export const CANCELLABLE: readonly OrderStatus[] = ['PENDING', 'PROCESSING', 'PAYMENT_PENDING', 'CONFIRMED'];

export { SagaDefinitionError, validateSteps } from './saga-table';

export interface AdvanceOptions {
  /** The orders were just placed, their sagas most likely not started: saves a round trip. */
  fresh?: boolean;
  /** Told the step reached and how many orders of the batch are done; the job's `progress` (coalesced). */
  progress?: (value: SagaProgress) => void;
}

/**
 * Where a saga job is: the step (or `compensate:<step>`) being run for the batch, the batch's size and how
 * many of its orders are done for this job (waiting for an event, compensated, confirmed). A job resumed
 * after a crash starts from the saga state that committed, so it reports the step it resumed at.
 */
export interface SagaProgress {
  [key: string]: unknown;
  step: string;
  orders: number;
  done: number;
}

/** Counts a run's finished orders and reports each step once for the whole batch, never once per order. */
class ProgressTracker {
  done = 0;

  constructor(
    private readonly orders: number,
    private readonly report?: (value: SagaProgress) => void,
  ) {}

  at(step: string): void {
    this.report?.({ step, orders: this.orders, done: this.done });
  }
}

/** An order of a batch that could not be advanced, even on its own, and why. */
export interface AdvanceFailure {
  orderId: string;
  error: unknown;
}

/**
 * Runs the saga's step table for a batch of orders in one transaction: every step runs once for all
 * the orders it is due for (set-based where the step has a batch action), until each order waits for
 * an event (payment, refund), fails (its compensations run, in reverse), or is confirmed. The saga
 * rows are locked for the transaction, so concurrent deliveries for one order take turns; the saga
 * state commits together with the effects of the steps it records. One order is a batch of one.
 */
@Injectable()
export class SagaRunner implements OnModuleInit {
  private readonly logger = new Logger(SagaRunner.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly saga: CheckoutSaga,
    private readonly sagas: SagaRepository,
    private readonly statuses: OrderStatusService,
    private readonly timeline: SagaTimeline,
    private readonly faults: SagaFaultInjector,
    private readonly announcer: SagaAnnouncer,
    private readonly clock: Clock,
  ) {}

  private get definition(): SagaDefinition {
    return this.saga;
  }

  onModuleInit(): void {
    validateSteps(this.definition.steps, this.faults.crashAt);
  }

  /** Moves one order's saga as far as it can go now. Safe to call any number of times, from anywhere. */
  async advance(orderId: string, options: AdvanceOptions = {}): Promise<SagaRecord | undefined> {
    const [saga] = await this.run([orderId], options);
    return saga;
  }

  /**
   * Moves a batch of sagas as far as they can go, in one transaction. When that fails unexpectedly,
   * each order is advanced on its own, so one poison order holds up nobody else; the orders that fail
   * on their own too come back, for the caller to retry (and dead-letter) one by one.
   */
  async advanceMany(orderIds: readonly string[], options: AdvanceOptions = {}): Promise<AdvanceFailure[]> {
    // Kept in the order given (the order they were placed in) for the one-by-one fallback.
    const ids = [...new Set(orderIds)];
    if (ids.length === 0) {
      return [];
    }
    try {
      await this.run(ids, options);
      return [];
    } catch (error) {
      if (error instanceof SagaCrash) {
        throw error;
      }
      if (ids.length === 1) {
        return [{ orderId: ids[0], error }];
      }
      this.logger.warn(
        { orders: ids.length, err: (error as Error).message },
        'saga batch failed; advancing its orders one by one',
      );
    }
    const failures: AdvanceFailure[] = [];
    for (const [i, orderId] of ids.entries()) {
      options.progress?.({ step: 'one by one', orders: ids.length, done: i });
      try {
        await this.run([orderId], { ...options, progress: undefined });
      } catch (error) {
        if (error instanceof SagaCrash) {
          throw error;
        }
        failures.push({ orderId, error });
      }
    }
    return failures;
  }

  /**
   * Starts undoing the order (cancellation, timeout) inside the caller's transaction; the next
   * `advance` runs the compensations. Refused when the order cannot be cancelled any more.
   */
  async requestCompensation(
    tx: EntityManager,
    orderId: string,
    reason: string,
  ): Promise<'started' | 'already' | 'refused'> {
    const [saga] = await this.sagas.lockOrCreateMany(tx, [orderId]);
    const [order] = await this.sagas.loadOrders(tx, [orderId]);
    if (!order || !CANCELLABLE.includes(order.status)) {
      return 'refused';
    }
    if (
      saga.status === 'COMPENSATING' ||
      saga.status === 'COMPENSATED' ||
      saga.status === 'NEEDS_ATTENTION'
    ) {
      return saga.data.compensation?.finalStatus === 'CANCELLED' ? 'already' : 'refused';
    }
    prepare(saga);
    beginCompensation(this.definition.steps, saga, { reason, finalStatus: 'CANCELLED', detail: undefined });
    await this.sagas.saveMany(tx, [saga]);
    return 'started';
  }

  /** Parks a saga whose compensation keeps failing: visible to admins, resumed by a dead-letter replay. */
  async markNeedsAttention(orderId: string, detail: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const [saga] = await this.sagas.lockOrCreateMany(tx, [orderId]);
      moveSaga(saga, 'NEEDS_ATTENTION');
      this.timeline.note(saga, {
        step: saga.currentStep ?? 'compensation',
        phase: 'compensation',
        outcome: 'failed',
        attempt: 0,
        detail,
      });
      await this.sagas.saveMany(tx, [saga]);
    });
    this.logger.error({ orderId, detail }, 'saga needs attention: a compensation keeps failing');
  }

  private run(orderIds: string[], options: AdvanceOptions): Promise<(SagaRecord | undefined)[]> {
    // A scope of order contexts even outside a job (recovery): a step's span is its order's context.
    return runWithOrderTraces([], () => this.runBatch(orderIds, options));
  }

  private async runBatch(orderIds: string[], options: AdvanceOptions): Promise<(SagaRecord | undefined)[]> {
    const changes: StatusChange[] = [];
    let crashAfterCommit = false;
    const progress = new ProgressTracker(orderIds.length, options.progress);
    const ctxs = await this.dataSource.transaction(async (tx) => {
      const sagas = await this.sagas.lockOrCreateMany(tx, orderIds, options.fresh);
      const orders = new Map((await this.sagas.loadOrders(tx, orderIds)).map((o) => [o.id, o]));
      const now = this.clock.now();
      // Locked in id order (no deadlocks between batches), run in the order they were placed (the
      // older order gets the last units).
      const batch = sagas
        .flatMap((saga) => {
          const order = orders.get(saga.orderId);
          return order ? [this.contextFor(tx, order, prepare(saga), now, changes)] : [];
        })
        .sort(byPlacement);
      await this.reopenForLateCharges(tx, batch);
      for (const ctx of batch.filter((c) => c.saga.status === 'NEEDS_ATTENTION')) {
        moveSaga(ctx.saga, 'COMPENSATING');
      }
      // Orders with nothing to do (unknown, already settled) are done from the start.
      progress.done =
        orderIds.length -
        batch.filter((c) => ['RUNNING', 'WAITING', 'COMPENSATING'].includes(c.saga.status)).length;
      crashAfterCommit = await this.runForward(
        batch.filter((c) => c.saga.status === 'RUNNING' || c.saga.status === 'WAITING'),
        progress,
      );
      if (!crashAfterCommit) {
        crashAfterCommit = await this.runCompensations(
          batch.filter((c) => c.saga.status === 'COMPENSATING'),
          progress,
        );
      }
      await this.sagas.saveMany(
        tx,
        batch.map((c) => c.saga),
      );
      return batch;
    });
    await this.announcer.announce(
      changes,
      ctxs.map((c) => c.order),
    );
    if (crashAfterCommit) {
      this.faults.crash();
    }
    progress.done = orderIds.length;
    progress.at('settled');
    return orderIds.map((id) => ctxs.find((c) => c.order.id === id)?.saga);
  }

  /** Returns true when a CRASH_AT `after` point was reached: the caller commits, then dies. */
  private async runForward(ctxs: StepContext[], progress: ProgressTracker): Promise<boolean> {
    if (ctxs.length === 0) {
      return false;
    }
    const starting = ctxs.filter((c) => c.order.status === 'PENDING');
    if (starting.length > 0) {
      await ctxs[0].transitionAll(starting, 'PROCESSING', { reason: 'SAGA_STARTED' });
    }
    ctxs.forEach((c) => moveSaga(c.saga, 'RUNNING'));
    let moving = ctxs;
    for (const step of this.definition.steps) {
      const due = moving.filter((c) => !c.saga.data.completed.includes(step.name));
      if (due.length === 0) {
        continue;
      }
      due.forEach((c) => (c.saga.currentStep = step.name));
      enrichContext({ step: step.name });
      progress.at(step.name);
      this.faults.crashBefore(step.name);
      const runs = due.map((c) => this.timeline.begin(c.saga, step.name, 'action'));
      // One order: its step's span is active, so the statements and calls it makes nest under it.
      const outcomes = await withSpan(due.length === 1 ? runs[0].traced?.span : undefined, () =>
        this.runStep(step, due),
      ).catch((error: unknown) => {
        this.timeline.abandon(runs, error);
        throw error;
      });
      const stopped = new Set<StepContext>();
      due.forEach((ctx, i) => {
        const outcome = outcomes[i];
        if (outcome === 'done') {
          this.timeline.end(ctx.saga, runs[i], 'completed');
          ctx.saga.data.completed.push(step.name);
        } else if (outcome === 'wait') {
          this.timeline.end(ctx.saga, runs[i], 'waiting');
          moveSaga(ctx.saga, 'WAITING');
          stopped.add(ctx);
        } else if (outcome instanceof StepFailure) {
          this.timeline.end(ctx.saga, runs[i], 'failed', `${outcome.code}: ${outcome.message}`);
          beginCompensation(
            this.definition.steps,
            ctx.saga,
            { reason: outcome.code, finalStatus: outcome.finalStatus, detail: outcome.message },
            step.name,
          );
          stopped.add(ctx);
        } else {
          // Only an optional step answers with an error: recorded, and the order goes on.
          this.logger.warn(
            { orderId: ctx.order.id, step: step.name, err: outcome.message },
            'optional saga step failed; the order goes on',
          );
          this.timeline.end(ctx.saga, runs[i], 'failed', outcome.message);
          ctx.saga.data.completed.push(step.name);
        }
      });
      moving = moving.filter((c) => !stopped.has(c));
      progress.done += [...stopped].filter((c) => c.saga.status !== 'COMPENSATING').length;
      if (this.faults.crashesAfter(step.name) && due.some((c) => c.saga.data.completed.includes(step.name))) {
        return true;
      }
    }
    if (moving.length > 0) {
      await moving[0].transitionAll(moving, 'CONFIRMED', { reason: 'SAGA_COMPLETED' });
    }
    for (const ctx of moving) {
      moveSaga(ctx.saga, 'COMPLETED');
      ctx.saga.currentStep = null;
    }
    progress.done += moving.length;
    return false;
  }

  /**
   * One outcome per context. Set-based when the step can be; an optional step runs order by order, each
   * in a savepoint, so that its failure undoes only its own writes.
   */
  private async runStep(step: SagaStep, ctxs: StepContext[]): Promise<(StepOutcome | Error)[]> {
    if (step.optional) {
      // The whole batch in one savepoint; only if something fails, order by order, each in its own.
      if (ctxs.length > 1) {
        const together = await inSavepoint(ctxs[0].tx, () =>
          eachInTurn(ctxs, (ctx) => actInOrderTrace(step, ctx)),
        ).catch(() => undefined);
        if (together) {
          return together;
        }
      }
      const outcomes: (StepOutcome | Error)[] = [];
      for (const ctx of ctxs) {
        outcomes.push(
          await inSavepoint(ctx.tx, () => actInOrderTrace(step, ctx)).catch((error: unknown) =>
            asError(error),
          ),
        );
      }
      return outcomes;
    }
    if (step.batchAction && ctxs.length > 1) {
      const outcomes = await step.batchAction(ctxs);
      if (outcomes.length !== ctxs.length) {
        throw new Error(`step ${step.name} answered ${outcomes.length} outcomes for ${ctxs.length} orders`);
      }
      return outcomes;
    }
    const outcomes: StepOutcome[] = [];
    for (const ctx of ctxs) {
      outcomes.push(
        await actInOrderTrace(step, ctx).catch((error: unknown) => {
          if (error instanceof StepFailure) {
            return error;
          }
          throw error;
        }),
      );
    }
    return outcomes;
  }

  /** Compensates each saga in reverse order of its completed steps; true when a CRASH_AT `after` point was reached. */
  private async runCompensations(ctxs: StepContext[], progress: ProgressTracker): Promise<boolean> {
    let active = ctxs;
    while (active.length > 0) {
      for (const ctx of active.filter((c) => c.saga.data.compensation!.pending.length === 0)) {
        await this.settleCompensated(ctx);
        progress.done += 1;
      }
      active = active.filter((c) => c.saga.data.compensation!.pending.length > 0);
      if (active.length === 0) {
        break;
      }
      const name = active[0].saga.data.compensation!.pending[0];
      const group = active.filter((c) => c.saga.data.compensation!.pending[0] === name);
      const step = this.definition.steps.find((s) => s.name === name);
      enrichContext({ step: `compensate:${name}` });
      progress.at(`compensate:${name}`);
      const waiting = new Set<StepContext>();
      if (step?.compensation) {
        this.faults.crashBefore(`compensate:${name}`);
        for (const ctx of group) {
          ctx.saga.currentStep = name;
          const run = this.timeline.begin(ctx.saga, name, 'compensation');
          const compensate = step.compensation;
          const outcome = await withSpan(run.traced?.span, () => compensate(ctx)).catch((error: unknown) => {
            this.timeline.abandon([run], error);
            throw error;
          });
          if (outcome === 'wait') {
            this.timeline.end(ctx.saga, run, 'waiting');
            waiting.add(ctx);
          } else {
            this.timeline.end(ctx.saga, run, 'completed');
          }
        }
      }
      group.filter((c) => !waiting.has(c)).forEach((c) => c.saga.data.compensation!.pending.shift());
      if (this.faults.crashesAfter(`compensate:${name}`) && group.length > waiting.size) {
        return true;
      }
      active = active.filter((c) => !waiting.has(c));
      progress.done += waiting.size;
    }
    return false;
  }

  private async settleCompensated(ctx: StepContext): Promise<void> {
    const { saga } = ctx;
    const compensation = saga.data.compensation!;
    const change = await ctx.transition(compensation.finalStatus, {
      failureReason: compensation.reason,
      failureDetail: compensation.detail,
    });
    if (change.changed && this.definition.onCompensated) {
      await inSavepoint(ctx.tx, () => this.definition.onCompensated!(ctx, compensation)).catch(
        (error: unknown) =>
          this.logger.warn(
            { orderId: ctx.order.id, err: asError(error).message },
            'could not request the failure notification',
          ),
      );
    }
    moveSaga(saga, 'COMPENSATED');
    saga.currentStep = null;
    saga.failureReason = compensation.reason;
  }

  /** A charge that succeeded after the saga had already been compensated is refunded, never kept. */
  private async reopenForLateCharges(tx: EntityManager, ctxs: StepContext[]): Promise<void> {
    const compensated = ctxs.filter((c) => c.saga.status === 'COMPENSATED' && c.saga.data.compensation);
    if (compensated.length === 0) {
      return;
    }
    const late = await this.sagas.findLateCharges(
      tx,
      compensated.map((c) => c.order.id),
    );
    for (const ctx of compensated.filter((c) => late.has(c.order.id))) {
      ctx.saga.data.compensation!.pending = ['chargePayment'];
      moveSaga(ctx.saga, 'COMPENSATING');
    }
  }

  private contextFor(
    tx: EntityManager,
    order: SagaOrder,
    saga: SagaRecord,
    now: Date,
    changes: StatusChange[],
  ): StepContext {
    const ctx: StepContext = {
      tx,
      order,
      saga,
      now,
      transition: async (to, options) => {
        const [change] = await this.transitionAll(tx, [ctx], to, options, changes);
        return change;
      },
      transitionAll: async (ctxs, to, options) => {
        await this.transitionAll(tx, ctxs, to, options, changes);
      },
    };
    return ctx;
  }

  private async transitionAll(
    tx: EntityManager,
    ctxs: StepContext[],
    to: OrderStatus,
    options: TransitionOptions | undefined,
    changes: StatusChange[],
  ): Promise<StatusChange[]> {
    try {
      const result = await this.statuses.transitionMany(
        tx,
        ctxs.map((c) => c.order.id),
        to,
        options,
      );
      result.forEach((change, i) => {
        if (change.changed) {
          ctxs[i].order.status = to;
          changes.push(change);
        }
      });
      return result;
    } catch (error) {
      if (error instanceof IllegalTransitionError) {
        this.logger.warn(
          { orders: ctxs.length, from: error.from, to },
          'saga refused an illegal order transition',
        );
      }
      throw error;
    }
  }
}

/** A step's action for one order runs in that order's step span (with tracing on), whatever the batch. */
function actInOrderTrace(step: SagaStep, ctx: StepContext): Promise<StepOutcome> {
  return inOrderTrace(ctx.order.id, () => step.action(ctx));
}

function byPlacement(a: StepContext, b: StepContext): number {
  const at = new Date(a.order.createdAt).getTime() - new Date(b.order.createdAt).getTime();
  return at !== 0 ? at : a.order.id < b.order.id ? -1 : 1;
}

/** Fills what an older saga row may lack. */
function prepare(saga: SagaRecord): SagaRecord {
  saga.data.completed ??= [];
  saga.data.attempts ??= {};
  return saga;
}

async function eachInTurn<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const item of items) {
    results.push(await work(item));
  }
  return results;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
