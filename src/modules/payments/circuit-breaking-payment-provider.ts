import CircuitBreaker from 'opossum';
import {
  PaymentGatewayUnavailableError,
  PermanentPaymentError,
  RateLimitedPaymentError,
  TransientPaymentError,
} from './payment.errors';
import {
  ChargeRequest,
  ChargeResult,
  GatewayPayment,
  PaymentProvider,
  RefundRequest,
  RefundResult,
} from './payment-provider';

export interface CircuitBreakerSettings {
  timeoutMs: number;
  errorThresholdPercent: number;
  resetTimeoutMs: number;
  volumeThreshold: number;
}

export type CircuitState = 'closed' | 'half-open' | 'open';

/** Gauge values of aop_circuit_breaker_state. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * The gateway behind an opossum circuit breaker. Only gateway trouble (transient errors, timeouts)
 * counts towards opening it: a decline is an answer, a PermanentPaymentError is our own bad request,
 * and a 429 is our own pace (PacedPaymentProvider, outside the breaker, slows down). While open, calls fail at once with PaymentGatewayUnavailableError so callers back off.
 */
export class CircuitBreakingPaymentProvider implements PaymentProvider {
  readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;

  constructor(
    private readonly inner: PaymentProvider,
    settings: CircuitBreakerSettings,
    readonly breakerName = 'payment-gateway',
  ) {
    this.breaker = new CircuitBreaker((action: () => Promise<unknown>) => action(), {
      name: breakerName,
      timeout: settings.timeoutMs,
      errorThresholdPercentage: settings.errorThresholdPercent,
      resetTimeout: settings.resetTimeoutMs,
      volumeThreshold: settings.volumeThreshold,
      // A 429 says we are too fast, not that the gateway is down: the pacer slows us instead.
      errorFilter: (error: unknown) =>
        error instanceof PermanentPaymentError || error instanceof RateLimitedPaymentError,
    });
  }

  get name(): string {
    return this.inner.name;
  }

  get state(): CircuitState {
    if (this.breaker.opened) {
      return 'open';
    }
    return this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  charge(request: ChargeRequest): Promise<ChargeResult> {
    return this.guard(() => this.inner.charge(request));
  }

  refund(request: RefundRequest): Promise<RefundResult> {
    return this.guard(() => this.inner.refund(request));
  }

  getPayment(reference: string): Promise<GatewayPayment | undefined> {
    return this.guard(() => this.inner.getPayment(reference));
  }

  /** Stops the breaker's timers (shutdown). */
  shutdown(): void {
    this.breaker.shutdown();
  }

  private async guard<T>(action: () => Promise<T>): Promise<T> {
    try {
      return (await this.breaker.fire(action)) as T;
    } catch (error) {
      throw translate(error);
    }
  }
}

function translate(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (code === 'EOPENBREAKER') {
    return new PaymentGatewayUnavailableError();
  }
  if (code === 'ETIMEDOUT' && !(error instanceof TransientPaymentError)) {
    return new TransientPaymentError('gateway_timeout', 'The payment gateway did not answer in time.');
  }
  return error;
}
