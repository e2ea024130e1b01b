/** Each retry's delay is its scheduled value ±20 %: receivers that failed together do not retry together. */
export const RETRY_JITTER = 0.2;

/**
 * The delay before the next attempt after `attemptsMade` attempts (1 = the first one just failed), or
 * undefined when the schedule is used up. `random` in [0, 1).
 */
export function nextRetryDelayMs(
  scheduleMs: readonly number[],
  attemptsMade: number,
  random: number = Math.random(),
): number | undefined {
  const base = scheduleMs[attemptsMade - 1];
  if (base === undefined) {
    return undefined;
  }
  return Math.round(base * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random));
}

/** The longest a delivery can stay pending: every retry at its latest, plus each attempt's timeout. */
export function retryHorizonSeconds(scheduleMs: readonly number[], timeoutMs: number): number {
  const retries = scheduleMs.reduce((sum, ms) => sum + ms * (1 + RETRY_JITTER), 0);
  return Math.ceil((retries + (scheduleMs.length + 1) * timeoutMs) / 1000);
}
