import { nextRetryDelayMs, RETRY_JITTER, retryHorizonSeconds } from './webhook-retry-schedule';

describe('webhook retry schedule', () => {
  const schedule = [5_000, 300_000, 1_800_000];

  it('waits the scheduled delay of the attempt just made, within the jitter', () => {
    expect(nextRetryDelayMs(schedule, 1, 0)).toBe(5_000 * (1 - RETRY_JITTER));
    expect(nextRetryDelayMs(schedule, 1, 0.5)).toBe(5_000);
    expect(nextRetryDelayMs(schedule, 2, 0.999999)).toBeLessThanOrEqual(300_000 * (1 + RETRY_JITTER));
    expect(nextRetryDelayMs(schedule, 3, 0.5)).toBe(1_800_000);
  });

  it('ends after the last scheduled retry', () => {
    expect(nextRetryDelayMs(schedule, 4, 0.5)).toBeUndefined();
  });

  it('the default schedule spans about three days', () => {
    const defaults = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000].map((s) => s * 1000);
    const days = defaults.reduce((a, b) => a + b, 0) / 86_400_000;
    expect(days).toBeGreaterThan(2.9);
    expect(days).toBeLessThan(3.1);
    expect(retryHorizonSeconds(defaults, 10_000)).toBeGreaterThan(days * 86_400 * (1 + RETRY_JITTER));
  });
});
