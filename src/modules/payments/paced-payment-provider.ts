import { GatewayPacer } from './gateway-pacer';
import { PaymentGatewayUnavailableError, RateLimitedPaymentError } from './payment.errors';
import {
  ChargeRequest,
  ChargeResult,
  GatewayPayment,
  PaymentProvider,
  RefundRequest,
  RefundResult,
} from './payment-provider';

/**
 * The gateway (behind its circuit breaker) called at the pace the GatewayPacer learnt: a 429 slows
 * every caller and the refused call waits for a new slot, instead of failing and spending one of its
 * job's attempts. A call that would wait longer than the pacer allows fails at once with
 * PaymentGatewayUnavailableError (code `gateway_rate_limited`, with the expected wait), which the
 * payment worker turns into a delay that spends no attempt, as for an open circuit.
 */
export class PacedPaymentProvider implements PaymentProvider {
  constructor(
    private readonly inner: PaymentProvider,
    readonly pacer: GatewayPacer,
    private readonly maxWaitMs: number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
    /** Told of every 429 the gateway answered (a metric). */
    private readonly onRateLimited: () => void = () => undefined,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  charge(request: ChargeRequest): Promise<ChargeResult> {
    return this.paced(() => this.inner.charge(request));
  }

  refund(request: RefundRequest): Promise<RefundResult> {
    return this.paced(() => this.inner.refund(request));
  }

  getPayment(reference: string): Promise<GatewayPayment | undefined> {
    return this.paced(() => this.inner.getPayment(reference));
  }

  private async paced<T>(call: () => Promise<T>): Promise<T> {
    // Only the time spent waiting for a turn counts against the budget, not the calls themselves.
    let waited = 0;
    for (;;) {
      const wait = this.pacer.reserve(Math.max(0, this.maxWaitMs - waited));
      if (wait === undefined) {
        const retryAfterMs = Math.max(1, this.pacer.waitMs);
        throw new PaymentGatewayUnavailableError(
          `The payment gateway is rate limiting us; a call would wait ${retryAfterMs} ms for its turn.`,
          'gateway_rate_limited',
          retryAfterMs,
        );
      }
      if (wait > 0) {
        waited += wait;
        await this.sleep(wait);
      }
      try {
        const result = await call();
        this.pacer.accepted();
        return result;
      } catch (error) {
        if (error instanceof RateLimitedPaymentError) {
          this.onRateLimited();
          this.pacer.rateLimited(error.retryAfterMs);
          continue;
        }
        // An open circuit never reached the gateway; anything else did, and counts as accepted.
        if (!(error instanceof PaymentGatewayUnavailableError)) {
          this.pacer.accepted();
        }
        throw error;
      }
    }
  }
}
