import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { inSavepoint } from '../../platform/database/transaction';
import { enrichContext } from '../../platform/http/request-context';
import { BusinessMetrics } from '../../platform/metrics/business-metrics';
import { NotificationsService } from '../notifications/notifications.service';
import { IllegalTransitionError, OrderStatus } from '../orders/order-status';
import { OrderStatusService, StatusChange } from '../orders/order-status.service';
import { CheckoutSaga, orderNumberOf } from './checkout.saga';
import { SagaRepository } from './saga.repository';
import {
  Compensation,
  SagaOrder,
  SagaRecord,
  SagaStep,
  StepContext,
  StepFailure,
  TimelineEntry,
} from './saga.types';

/** The statuses from which a customer or an admin may still cancel: before shipping. */
export const CANCELLABLE: readonly OrderStatus[] = ['PENDING', 'PROCESSING', 'PAYMENT_PENDING', 'CONFIRMED'];

export class SagaDefinitionError extends Error {}

/** Refuses a saga table that cannot run: duplicate names, or an optional step with a compensation. */
export function validateSteps(steps: SagaStep[], crashAt?: AppConfig['saga']['crashAt']): void {
  const names = steps.map((s) => s.name);
  const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicates.length > 0) {
    throw new SagaDefinitionError(`saga steps must have unique names: ${duplicates.join(', ')}`);
  }
  for (const step of steps) {
    if (step.optional && step.compensation) {
      throw new SagaDefinitionError(`step ${step.name} is optional and so must have nothing to compensate`);
    }
  }
  if (crashAt && !names.includes(crashAt.step.replace(/^compensate:/, ''))) {
    throw new SagaDefinitionError(`CRASH_AT names no saga step: ${crashAt.step}`);
  }
}

/**
 * Runs the checkout saga of one order: as many steps as it can in one transaction, until a step waits
 * for an event (payment, refund), fails (compensations run, in reverse), or the order is confirmed.
 * The saga row is locked for the transaction, so concurrent deliveries for one order take turns; the
 * persisted state (saga_state) commits together with the effects of the steps it records.
 */
@Injectable()
export class SagaRunner implements OnModuleInit {
  private readonly logger = new Logger(SagaRunner.name);
  private readonly stallMs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly saga: CheckoutSaga,
    private readonly sagas: SagaRepository,
    private readonly statuses: OrderStatusService,
    private readonly notifications: NotificationsService,
    private readonly metrics: BusinessMetrics,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.stallMs = config.saga.stallSeconds * 1000;
  }

  onModuleInit(): void {
    validateSteps(this.saga.steps, this.config.saga.crashAt);
  }

  /**
   * Moves the order's saga as far as it can go now. Safe to call any number of times, from anywhere;
   * `fresh` (the order was just placed, its saga most likely not started) saves a round trip.
   */
  async advance(orderId: string, options: { fresh?: boolean } = {}): Promise<SagaRecord | undefined> {
    const changes: StatusChange[] = [];
    let crashAfterCommit = false;
    const result = await this.dataSource.transaction(async (tx) => {
      const saga = await this.sagas.lockOrCreate(tx, orderId, options.fresh);
      const order = await this.sagas.loadOrder(tx, orderId);
      if (!order) {
        return undefined;
      }
      const ctx = this.contextFor(tx, order, saga, changes);
      this.reopenForLateCharge(saga, await this.hasLateCharge(ctx));
      if (saga.status === 'NEEDS_ATTENTION') {
        saga.status = 'COMPENSATING';
      }
      if (saga.status === 'RUNNING' || saga.status === 'WAITING') {
        crashAfterCommit = await this.runForward(ctx);
      }
      if (saga.status === 'COMPENSATING' && !crashAfterCommit) {
        crashAfterCommit = await this.runCompensations(ctx);
      }
      await this.sagas.save(tx, saga);
      return { saga, order };
    });
    await this.afterCommit(changes, result?.order);
    if (crashAfterCommit) {
      this.crash();
    }
    return result?.saga;
  }

  /**
   * Starts undoing the order (cancellation, timeout) inside the caller's transaction; the next
   * `advance` runs the compensations. Returns false when the order cannot be cancelled any more.
   */
  async requestCompensation(
    tx: EntityManager,
    orderId: string,
    reason: string,
  ): Promise<'started' | 'already' | 'refused'> {
    const saga = await this.sagas.lockOrCreate(tx, orderId);
    const order = await this.sagas.loadOrder(tx, orderId);
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
    this.beginCompensation(saga, { reason, finalStatus: 'CANCELLED', detail: undefined });
    await this.sagas.save(tx, saga);
    return 'started';
  }

  /** Parks a saga whose compensation keeps failing: visible to admins, resumed by a dead-letter replay. */
  async markNeedsAttention(orderId: string, detail: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const saga = await this.sagas.lockOrCreate(tx, orderId);
      saga.status = 'NEEDS_ATTENTION';
      saga.history.push({
        step: saga.currentStep ?? 'compensation',
        phase: 'compensation',
        outcome: 'failed',
        attempt: 0,
        startedAt: new Date().toISOString(),
        durationMs: 0,
        detail,
      });
      await this.sagas.save(tx, saga);
    });
    this.logger.error({ orderId, detail }, 'saga needs attention: a compensation keeps failing');
  }

  private async runForward(ctx: StepContext): Promise<boolean> {
    const { saga, order } = ctx;
    if (order.status === 'PENDING') {
      await ctx.transition('PROCESSING', { reason: 'SAGA_STARTED' });
    }
    saga.status = 'RUNNING';
    for (const step of this.saga.steps) {
      if (saga.data.completed.includes(step.name)) {
        continue;
      }
      saga.currentStep = step.name;
      enrichContext({ step: step.name });
      this.crashIfAt(step.name, 'before');
      const attempt = (saga.data.attempts[step.name] = (saga.data.attempts[step.name] ?? 0) + 1);
      const startedAt = new Date().toISOString();
      const started = performance.now();
      try {
        const result = await (step.optional ? inSavepoint(ctx.tx, () => step.action(ctx)) : step.action(ctx));
        if (result === 'wait') {
          this.recordWaiting(saga, {
            step: step.name,
            phase: 'action',
            attempt,
            startedAt,
            durationMs: performance.now() - started,
          });
          saga.status = 'WAITING';
          return false;
        }
        this.record(saga, {
          step: step.name,
          phase: 'action',
          outcome: 'completed',
          attempt,
          startedAt,
          durationMs: performance.now() - started,
        });
        saga.data.completed.push(step.name);
        if (this.isCrashPoint(step.name, 'after')) {
          return true;
        }
      } catch (error) {
        if (error instanceof StepFailure) {
          this.record(saga, {
            step: step.name,
            phase: 'action',
            outcome: 'failed',
            attempt,
            startedAt,
            durationMs: performance.now() - started,
            detail: `${error.code}: ${error.message}`,
          });
          this.beginCompensation(
            saga,
            { reason: error.code, finalStatus: error.finalStatus, detail: error.message },
            step,
          );
          return false;
        }
        if (step.optional) {
          this.logger.warn(
            { orderId: order.id, step: step.name, err: (error as Error).message },
            'optional saga step failed; the order goes on',
          );
          this.record(saga, {
            step: step.name,
            phase: 'action',
            outcome: 'failed',
            attempt,
            startedAt,
            durationMs: performance.now() - started,
            detail: (error as Error).message,
          });
          saga.data.completed.push(step.name);
          continue;
        }
        throw error;
      }
    }
    await ctx.transition('CONFIRMED', { reason: 'SAGA_COMPLETED' });
    saga.status = 'COMPLETED';
    saga.currentStep = null;
    return false;
  }

  private async runCompensations(ctx: StepContext): Promise<boolean> {
    const { saga } = ctx;
    const compensation = saga.data.compensation!;
    while (compensation.pending.length > 0) {
      const name = compensation.pending[0];
      const step = this.saga.steps.find((s) => s.name === name);
      saga.currentStep = name;
      enrichContext({ step: `compensate:${name}` });
      if (step?.compensation) {
        this.crashIfAt(`compensate:${name}`, 'before');
        const attempt = (saga.data.attempts[`compensate:${name}`] =
          (saga.data.attempts[`compensate:${name}`] ?? 0) + 1);
        const startedAt = new Date().toISOString();
        const started = performance.now();
        const result = await step.compensation(ctx);
        if (result === 'wait') {
          this.recordWaiting(saga, {
            step: name,
            phase: 'compensation',
            attempt,
            startedAt,
            durationMs: performance.now() - started,
          });
          return false;
        }
        this.record(saga, {
          step: name,
          phase: 'compensation',
          outcome: 'completed',
          attempt,
          startedAt,
          durationMs: performance.now() - started,
        });
        this.metrics.sagaCompensations.inc({ step: name });
        if (this.isCrashPoint(`compensate:${name}`, 'after')) {
          compensation.pending.shift();
          return true;
        }
      }
      compensation.pending.shift();
    }
    await this.settleCompensated(ctx, compensation);
    return false;
  }

  private async settleCompensated(ctx: StepContext, compensation: Compensation): Promise<void> {
    const { saga, order } = ctx;
    const change = await ctx.transition(compensation.finalStatus, {
      failureReason: compensation.reason,
      failureDetail: compensation.detail,
    });
    if (change.changed) {
      await inSavepoint(ctx.tx, () =>
        this.notifications.request(ctx.tx, {
          userId: order.userId,
          orderId: order.id,
          template: compensation.finalStatus === 'PAYMENT_FAILED' ? 'payment-failed' : 'order-cancelled',
          data: {
            orderNumber: orderNumberOf(order.id),
            totalAmount: order.totalAmount,
            currency: order.currency,
            reason: compensation.reason,
          },
        }),
      ).catch((error: unknown) =>
        this.logger.warn(
          { orderId: order.id, err: (error as Error).message },
          'could not request the failure notification',
        ),
      );
    }
    saga.status = 'COMPENSATED';
    saga.currentStep = null;
    saga.failureReason = compensation.reason;
  }

  private beginCompensation(
    saga: SagaRecord,
    failure: Omit<Compensation, 'pending'>,
    failedStep?: SagaStep,
  ): void {
    // The step that was waiting (a charge in flight) is undone too: its effect may still arrive.
    const waiting =
      saga.status === 'WAITING' && saga.currentStep && !saga.data.completed.includes(saga.currentStep)
        ? [saga.currentStep]
        : [];
    const candidates = [...saga.data.completed, ...waiting].filter((name) => name !== failedStep?.name);
    const pending = [...new Set(candidates)]
      .reverse()
      .filter((name) => this.saga.steps.find((s) => s.name === name)?.compensation);
    saga.data.compensation = { ...failure, pending };
    saga.status = 'COMPENSATING';
    saga.failureReason = failure.reason;
  }

  /** A charge that succeeded after the saga had already been compensated is refunded, never kept. */
  private reopenForLateCharge(saga: SagaRecord, lateCharge: boolean): void {
    if (saga.status === 'COMPENSATED' && lateCharge && saga.data.compensation) {
      saga.data.compensation.pending = ['chargePayment'];
      saga.status = 'COMPENSATING';
    }
  }

  private async hasLateCharge(ctx: StepContext): Promise<boolean> {
    if (ctx.saga.status !== 'COMPENSATED') {
      return false;
    }
    const [row] = await ctx.tx.query<{ late: boolean }[]>(
      `SELECT coalesce(sum(CASE WHEN kind = 'CHARGE' THEN amount ELSE -amount END)
                FILTER (WHERE status = 'SUCCEEDED' OR (kind = 'REFUND' AND status = 'PENDING')), 0) > 0 AS late
       FROM payments WHERE order_id = $1`,
      [ctx.order.id],
    );
    return row?.late ?? false;
  }

  private contextFor(
    tx: EntityManager,
    order: SagaOrder,
    saga: SagaRecord,
    changes: StatusChange[],
  ): StepContext {
    saga.data.completed ??= [];
    saga.data.attempts ??= {};
    return {
      tx,
      order,
      saga,
      stallMs: this.stallMs,
      transition: async (to, options) => {
        try {
          const change = await this.statuses.transition(tx, order.id, to, options);
          if (change.changed) {
            order.status = to;
            changes.push(change);
          }
          return change;
        } catch (error) {
          if (error instanceof IllegalTransitionError) {
            this.logger.warn(
              { orderId: order.id, from: error.from, to },
              'saga refused an illegal order transition',
            );
          }
          throw error;
        }
      },
    };
  }

  private async afterCommit(changes: StatusChange[], order: SagaOrder | undefined): Promise<void> {
    for (const change of changes) {
      await this.statuses.publish(change);
      if (order && ['CONFIRMED', 'CANCELLED', 'PAYMENT_FAILED'].includes(change.to)) {
        this.metrics.ordersFinished.inc({ status: change.to });
        this.metrics.orderDuration.observe(
          { status: change.to },
          (change.at.getTime() - new Date(order.createdAt).getTime()) / 1000,
        );
      }
    }
  }

  private record(saga: SagaRecord, entry: TimelineEntry): void {
    entry.durationMs = Math.round(entry.durationMs * 100) / 100;
    saga.history.push(entry);
    this.logger.debug(
      { phase: entry.phase, outcome: entry.outcome, attempt: entry.attempt, durationMs: entry.durationMs },
      `saga step ${entry.outcome}`,
    );
    this.metrics.sagaStepDuration.observe(
      { step: entry.phase === 'action' ? entry.step : `compensate:${entry.step}`, outcome: entry.outcome },
      entry.durationMs / 1000,
    );
  }

  /** One "waiting" entry per wait, not one per resume that finds the answer not there yet. */
  private recordWaiting(saga: SagaRecord, entry: Omit<TimelineEntry, 'outcome'>): void {
    const last = saga.history.at(-1);
    if (last && last.step === entry.step && last.phase === entry.phase && last.outcome === 'waiting') {
      last.attempt = entry.attempt;
      return;
    }
    this.record(saga, { ...entry, outcome: 'waiting' });
  }

  private isCrashPoint(step: string, when: 'before' | 'after'): boolean {
    const crashAt = this.config.saga.crashAt;
    return crashAt !== undefined && crashAt.step === step && crashAt.when === when;
  }

  private crashIfAt(step: string, when: 'before' | 'after'): void {
    if (this.isCrashPoint(step, when)) {
      this.crash();
    }
  }

  /** Fault injection (CRASH_AT, never in production): die like a killed process, no clean-up. */
  private crash(): never {
    this.logger.warn({ crashAt: this.config.saga.crashAt }, 'CRASH_AT reached: killing the process');
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  }
}
