import { setTimeout as sleep } from 'node:timers/promises';

/** What a check answers while the condition does not hold yet. */
type NotYet = undefined | null | false;

/**
 * The one polling helper of the tests: calls `check` until it answers something other than
 * undefined, null or false (returned), or fails after `timeoutMs`. A check that throws counts as
 * "not yet"; its last error is in the timeout's message. Wait on a condition, never on a sleep.
 */
export async function eventually<T>(
  check: () => Promise<T | NotYet> | T | NotYet,
  { timeoutMs = 10_000, intervalMs = 20, what = 'condition' } = {},
): Promise<Exclude<T, NotYet>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, NotYet>;
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError ? `: ${(lastError as Error).message}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}
