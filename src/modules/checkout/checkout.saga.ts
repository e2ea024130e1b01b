import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { InsufficientStockError, ReservationNotActiveError } from '../inventory/inventory.errors';
import { ReservationsService } from '../inventory/reservations.service';
import { NotificationsService } from '../notifications/notifications.service';
import { NewDomainEvent } from '../../platform/outbox/domain-events';
import { OutboxWriter } from '../../platform/outbox/outbox.writer';
import { PaymentStatusReader } from './payment-status.reader';
import {
  Compensation,
  SagaDefinition,
  SagaStep,
  StepContext,
  StepFailure,
  StepOutcome,
  StepResult,
} from './saga.types';

/**
 * The checkout saga: what happens to an order after it was accepted (DESIGN §3).
 *
 *   step                 action                                   compensation
 *   verifyStock          enough stock for every line?             —
 *                        no → CANCELLED (INSUFFICIENT_STOCK)
 *   reserveInventory     reserve every line or none (TTL)         release the reservation
 *   chargePayment        ask the payment worker to charge; wait   refund what was captured; wait
 *                        declined → PAYMENT_FAILED (card code)
 *   confirmReservation   reserved → sold                          restock
 *   notifyCustomer       order confirmation (EN/ES)               —  (never fails the order)
 *   → CONFIRMED
 *
 * Steps run in the saga's transaction with their effects, so the persisted state always matches what
 * was done; every step is idempotent (unique reservations per order, one charge key per order, one
 * notification per dedupe key), so a re-delivered job or a resumed saga never repeats an effect.
 * Compensations run in reverse order of the completed steps. The runner (saga.runner.ts) executes
 * this table and checks it at start-up.
 */
@Injectable()
export class CheckoutSaga implements SagaDefinition {
  readonly steps: SagaStep[];
  /** SAGA_STALL_SECONDS in ms: a request (payment, refund) unanswered for longer is made again. */
  private readonly stallMs: number;

  constructor(
    private readonly reservations: ReservationsService,
    private readonly payments: PaymentStatusReader,
    private readonly notifications: NotificationsService,
    private readonly outbox: OutboxWriter,
    @InjectConfig() config: AppConfig,
  ) {
    this.stallMs = config.saga.stallSeconds * 1000;
    this.steps = [
      {
        name: 'verifyStock',
        action: (ctx) => this.verifyStock(ctx),
        batchAction: (ctxs) => this.verifyStockMany(ctxs),
      },
      {
        name: 'reserveInventory',
        action: (ctx) => this.reserveInventory(ctx),
        batchAction: (ctxs) => this.reserveInventoryMany(ctxs),
        compensation: (ctx) => this.releaseReservation(ctx),
      },
      {
        name: 'chargePayment',
        action: (ctx) => this.chargePayment(ctx),
        batchAction: (ctxs) => this.chargePaymentMany(ctxs),
        compensation: (ctx) => this.refundPayment(ctx),
      },
      {
        name: 'confirmReservation',
        action: (ctx) => this.confirmReservation(ctx),
        batchAction: (ctxs) => this.confirmReservationMany(ctxs),
        compensation: (ctx) => this.restock(ctx),
      },
      { name: 'notifyCustomer', action: (ctx) => this.notifyCustomer(ctx), optional: true },
    ];
  }

  private lines(ctx: StepContext) {
    return ctx.order.items.map((i) => ({ productId: i.productId, quantity: i.quantity }));
  }

  private async verifyStock(ctx: StepContext): Promise<StepResult> {
    const { available, shortages } = await this.reservations.checkAvailability(ctx.tx, this.lines(ctx));
    if (!available) {
      throw new StepFailure(
        'INSUFFICIENT_STOCK',
        'CANCELLED',
        `Not enough stock for ${shortages.map((s) => s.productId).join(', ')}`,
      );
    }
    return 'done';
  }

  private async verifyStockMany(ctxs: StepContext[]): Promise<StepOutcome[]> {
    const shortages = await this.reservations.findShortagesMany(
      ctxs[0].tx,
      ctxs.map((ctx) => ({ orderId: ctx.order.id, lines: this.lines(ctx) })),
    );
    return ctxs.map((ctx) => {
      const error = shortages.get(ctx.order.id);
      return error ? new StepFailure('INSUFFICIENT_STOCK', 'CANCELLED', error.message) : 'done';
    });
  }

  /** The whole batch in one statement; all or nothing per order, the first placed served first. */
  private async reserveInventoryMany(ctxs: StepContext[]): Promise<StepOutcome[]> {
    const results = await this.reservations.reserveMany(
      ctxs[0].tx,
      ctxs.map((ctx) => ({ orderId: ctx.order.id, lines: this.lines(ctx) })),
      { actor: 'checkout-saga' },
    );
    return ctxs.map((ctx) => {
      const result = results.get(ctx.order.id)!;
      if ('error' in result) {
        return new StepFailure('INSUFFICIENT_STOCK', 'CANCELLED', result.error.message);
      }
      if (result.reservations.some((r) => r.status !== 'ACTIVE')) {
        return new StepFailure(
          'RESERVATION_EXPIRED',
          'CANCELLED',
          'The reservation expired before the order was confirmed',
        );
      }
      ctx.saga.data.reservationIds = result.reservations.map((r) => r.id);
      return 'done';
    });
  }

  private async reserveInventory(ctx: StepContext): Promise<StepResult> {
    try {
      const reservations = await this.reservations.reserve(ctx.tx, {
        orderId: ctx.order.id,
        lines: this.lines(ctx),
        actor: 'checkout-saga',
      });
      if (reservations.some((r) => r.status !== 'ACTIVE')) {
        throw new StepFailure(
          'RESERVATION_EXPIRED',
          'CANCELLED',
          'The reservation expired before the order was confirmed',
        );
      }
      ctx.saga.data.reservationIds = reservations.map((r) => r.id);
      return 'done';
    } catch (error) {
      if (error instanceof InsufficientStockError) {
        throw new StepFailure('INSUFFICIENT_STOCK', 'CANCELLED', error.message);
      }
      throw error;
    }
  }

  private async releaseReservation(ctx: StepContext): Promise<StepResult> {
    await this.reservations.release(ctx.tx, ctx.order.id, {
      reason: ctx.saga.data.compensation?.reason ?? 'COMPENSATION',
      actor: 'checkout-saga',
    });
    return 'done';
  }

  /**
   * The charge itself runs in the payment worker (circuit breaker, retries with backoff). This step asks
   * for it once and waits; the charge job itself (or PaymentProcessed, for a settlement that comes later
   * through the gateway's webhook) brings the saga back here to read the outcome, loaded with the order.
   */
  private async chargePayment(ctx: StepContext): Promise<StepResult> {
    const { charge } = ctx.order;
    if (charge?.status === 'SUCCEEDED') {
      ctx.saga.data.paymentId = charge.id;
      return 'done';
    }
    if (charge?.status === 'FAILED') {
      throw new StepFailure(
        charge.failureCode ?? 'PAYMENT_DECLINED',
        'PAYMENT_FAILED',
        charge.failureMessage ?? undefined,
      );
    }
    if (ctx.order.status === 'PROCESSING') {
      await ctx.transition('PAYMENT_PENDING', { reason: 'PAYMENT_REQUESTED' });
    }
    // Asked again when unanswered for long: the job may be lost, or its worker died mid-charge
    // (the charge's idempotency key makes a second request harmless).
    if ((!charge || charge.status === 'PENDING') && this.isDue(ctx.saga.data.paymentRequestedAt, ctx)) {
      await this.requestCharge(ctx);
    }
    return 'wait';
  }

  /** As `chargePayment`, with one status statement and one outbox statement for the whole batch. */
  private async chargePaymentMany(ctxs: StepContext[]): Promise<StepOutcome[]> {
    const outcomes = ctxs.map((ctx): StepOutcome | undefined => {
      const { charge } = ctx.order;
      if (charge?.status === 'SUCCEEDED') {
        ctx.saga.data.paymentId = charge.id;
        return 'done';
      }
      if (charge?.status === 'FAILED') {
        return new StepFailure(
          charge.failureCode ?? 'PAYMENT_DECLINED',
          'PAYMENT_FAILED',
          charge.failureMessage ?? undefined,
        );
      }
      return undefined;
    });
    const waiting = ctxs.filter((_, i) => outcomes[i] === undefined);
    const processing = waiting.filter((ctx) => ctx.order.status === 'PROCESSING');
    if (processing.length > 0) {
      await ctxs[0].transitionAll(processing, 'PAYMENT_PENDING', { reason: 'PAYMENT_REQUESTED' });
    }
    const due = waiting.filter(
      (ctx) =>
        (!ctx.order.charge || ctx.order.charge.status === 'PENDING') &&
        this.isDue(ctx.saga.data.paymentRequestedAt, ctx),
    );
    if (due.length > 0) {
      await this.outbox.appendMany(
        ctxs[0].tx,
        due.map((ctx) => this.chargeRequest(ctx)),
      );
      due.forEach((ctx) => (ctx.saga.data.paymentRequestedAt = ctx.now.toISOString()));
    }
    return outcomes.map((o) => o ?? 'wait');
  }

  private chargeRequest(ctx: StepContext): NewDomainEvent<'PaymentRequested'> {
    return {
      type: 'PaymentRequested',
      aggregateType: 'order',
      aggregateId: ctx.order.id,
      payload: {
        orderId: ctx.order.id,
        amount: ctx.order.totalAmount,
        currency: ctx.order.currency,
        method: ctx.order.paymentMethod,
      },
    };
  }

  private async requestCharge(ctx: StepContext): Promise<void> {
    await this.outbox.append(ctx.tx, this.chargeRequest(ctx));
    ctx.saga.data.paymentRequestedAt = ctx.now.toISOString();
  }

  /**
   * Whatever was captured goes back. A charge still pending (a bank transfer not yet settled) does not
   * hold the cancellation up: if it settles later, the runner reopens this compensation and refunds it.
   * A charge in doubt does: nothing would ever settle it, so the charge is asked again (same idempotency
   * key, so the gateway answers with what it did) before deciding whether there is anything to refund.
   */
  private async refundPayment(ctx: StepContext): Promise<StepResult> {
    const balance = await this.payments.balance(ctx.tx, ctx.order.id);
    if (balance.chargeInDoubt) {
      if (this.isDue(ctx.saga.data.paymentRequestedAt, ctx)) {
        await this.requestCharge(ctx);
      }
      return 'wait';
    }
    if (balance.refundableCents <= 0) {
      return 'done';
    }
    if (this.isDue(ctx.saga.data.refundRequestedAt, ctx)) {
      await this.outbox.append(ctx.tx, {
        type: 'RefundRequested',
        aggregateType: 'order',
        aggregateId: ctx.order.id,
        payload: { orderId: ctx.order.id, reason: ctx.saga.data.compensation?.reason ?? 'COMPENSATION' },
      });
      ctx.saga.data.refundRequestedAt = ctx.now.toISOString();
    }
    return 'wait';
  }

  private async confirmReservation(ctx: StepContext): Promise<StepResult> {
    try {
      await this.reservations.confirm(ctx.tx, ctx.order.id, { actor: 'checkout-saga' });
      return 'done';
    } catch (error) {
      if (error instanceof ReservationNotActiveError) {
        throw new StepFailure('RESERVATION_EXPIRED', 'CANCELLED', error.message);
      }
      throw error;
    }
  }

  private async confirmReservationMany(ctxs: StepContext[]): Promise<StepOutcome[]> {
    const refusals = await this.reservations.confirmMany(
      ctxs[0].tx,
      ctxs.map((ctx) => ctx.order.id),
      { actor: 'checkout-saga' },
    );
    return ctxs.map((ctx) => {
      const refusal = refusals.get(ctx.order.id);
      return refusal ? new StepFailure('RESERVATION_EXPIRED', 'CANCELLED', refusal.message) : 'done';
    });
  }

  private async restock(ctx: StepContext): Promise<StepResult> {
    await this.reservations.restock(ctx.tx, ctx.order.id, {
      reason: ctx.saga.data.compensation?.reason ?? 'COMPENSATION',
      actor: 'checkout-saga',
    });
    return 'done';
  }

  private async notifyCustomer(ctx: StepContext): Promise<StepResult> {
    const { order } = ctx;
    await this.notifications.request(ctx.tx, {
      userId: order.userId,
      orderId: order.id,
      template: 'order-confirmation',
      data: {
        orderNumber: orderNumberOf(order.id),
        items: order.items.map((i) => ({
          name: i.name,
          quantity: i.quantity,
          unitPrice: i.unitPrice,
          lineTotal: i.lineTotal,
        })),
        totalAmount: order.totalAmount,
        currency: order.currency,
      },
    });
    return 'done';
  }

  /** Tells the customer why the order ended (payment failed, or cancelled). */
  async onCompensated(ctx: StepContext, compensation: Compensation): Promise<void> {
    const { order } = ctx;
    await this.notifications.request(ctx.tx, {
      userId: order.userId,
      orderId: order.id,
      template: compensation.finalStatus === 'PAYMENT_FAILED' ? 'payment-failed' : 'order-cancelled',
      data: {
        orderNumber: orderNumberOf(order.id),
        totalAmount: order.totalAmount,
        currency: order.currency,
        reason: compensation.reason,
      },
    });
  }

  /** A request not answered within the stall window is made again (its job may have been lost). */
  private isDue(lastRequestedAt: string | undefined, ctx: StepContext): boolean {
    return lastRequestedAt === undefined || ctx.now.getTime() - Date.parse(lastRequestedAt) > this.stallMs;
  }
}

/** The short number people see in messages: the first 8 characters of the order id. */
export function orderNumberOf(orderId: string): string {
  return orderId.slice(0, 8).toUpperCase();
}
