import { ConflictError, UnprocessableError } from '../../platform/http/domain-error';

/** The gateway could not answer now (timeout, 503, rate limit, lost response): retry with backoff. */
export class TransientPaymentError extends Error {
  readonly transient = true;

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The gateway answered 429: too many requests; `retryAfterMs` is its `Retry-After`. */
export class RateLimitedPaymentError extends TransientPaymentError {
  constructor(
    readonly retryAfterMs: number,
    message = 'Too many requests to the gateway; slow down.',
  ) {
    super('rate_limited', message);
  }
}

/**
 * The gateway cannot be called now: the circuit breaker is open, or the pacer would have to hold the
 * call longer than it may. Fail fast so the caller backs off (for `retryAfterMs` when it is known,
 * else about the breaker's reset time) instead of piling onto the gateway or spending an attempt.
 */
export class PaymentGatewayUnavailableError extends TransientPaymentError {
  constructor(
    message = 'The payment gateway is unavailable (circuit open); retry later.',
    code = 'gateway_unavailable',
    readonly retryAfterMs?: number,
  ) {
    super(code, message);
  }
}

/** Another attempt for the same charge is in flight; the caller retries once it has finished. */
export class PaymentInProgressError extends TransientPaymentError {
  constructor(orderId: string) {
    super('payment_in_progress', `A charge for order ${orderId} is already in progress.`);
  }
}

/** A request the gateway will never accept as sent (a bug or bad input): do not retry. */
export class PermanentPaymentError extends Error {
  readonly transient = false;

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export function isTransientPaymentError(error: unknown): error is TransientPaymentError {
  return error instanceof TransientPaymentError;
}

export class RefundExceedsCapturedError extends UnprocessableError {
  constructor(requested: string, refundable: string) {
    super(
      `A refund of ${requested} exceeds what can still be refunded (${refundable}).`,
      undefined,
      'REFUND_EXCEEDS_CAPTURED',
    );
  }
}

export class NothingToRefundError extends ConflictError {
  constructor(orderId: string) {
    super(`Order ${orderId} has no settled charge to refund.`, 'NOTHING_TO_REFUND');
  }
}
