import { UnrecoverableError } from 'bullmq';

/**
 * A failure that retrying cannot fix (bad data, a declined card, an order that no longer exists):
 * the job fails at once and goes to the dead letters. Any other error is transient and retried.
 */
export class PermanentJobError extends Error {
  readonly permanent = true;

  constructor(
    message: string,
    /** A stable code, stored with the dead letter (say `INSUFFICIENT_STOCK`). */
    readonly code = 'PERMANENT_FAILURE',
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A dependency is known to be unavailable for a while (a payment gateway behind an open circuit): the
 * job is put back, delayed by `delayMs`, without spending one of its attempts, so an outage longer than
 * the retry schedule does not fill the dead letters with jobs that would have succeeded.
 */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Why a job ended in the dead letters; the list can be filtered by it. */
export const FAILURE_REASONS = ['PERMANENT_FAILURE', 'ATTEMPTS_EXHAUSTED', 'STALLED'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Permanent: BullMQ's UnrecoverableError, PermanentJobError, or any error flagged `permanent: true`. */
export function isPermanentError(error: unknown): boolean {
  if (error instanceof UnrecoverableError || error instanceof PermanentJobError) {
    return true;
  }
  const candidate = error as { name?: unknown; permanent?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    (candidate.permanent === true || candidate.name === 'UnrecoverableError')
  );
}

/** "CODE: message" when the error carries a stable code (domain errors do), else the message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
}
