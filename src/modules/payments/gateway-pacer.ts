export interface GatewayPacerSettings {
  /** Longest one call may wait for its turn; beyond it the caller is told to come back later. */
  maxWaitMs: number;
  /** Floor of the pace, so a burst of 429s cannot stop the calls altogether. */
  minRatePerSecond: number;
}

/** Share of the measured accepted rate kept after a 429: the pace settles just under the limit. */
const CUT_FACTOR = 0.9;
/** While demand presses against the pace, it grows by this share per second (and ≥ 1 call/s per second). */
const GROWTH_PER_SECOND = 0.02;
const WINDOW_MS = 1000;
const BUCKETS = 10;

/**
 * Paces calls to a rate-limited gateway, learning its limit from its 429s instead of being told it:
 * unlimited until the first 429, then cut to just under the rate the gateway accepted over the last
 * second, then grown slowly while calls queue for their turn (AIMD, as TCP paces a link). A 429
 * also pauses every call for its Retry-After. A call waits for its slot here instead of failing and
 * spending a retry; the pace is per process, and each process learns its own share.
 */
export class GatewayPacer {
  private rate = Number.POSITIVE_INFINITY;
  private nextStartAt = 0;
  private pausedUntil = 0;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private lastQueuedAt = Number.NEGATIVE_INFINITY;
  private lastGrowthAt = 0;
  private readonly counts = new Array<number>(BUCKETS).fill(0);
  private bucketStart = 0;
  private bucketIndex = 0;

  constructor(
    private readonly settings: GatewayPacerSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls per second the pacer lets through now; Infinity until the gateway first refused one. */
  get ratePerSecond(): number {
    return this.rate;
  }

  /** How long a call asking now would wait for its turn. */
  get waitMs(): number {
    const now = this.now();
    return Math.max(0, this.nextStartAt - now, this.pausedUntil - now);
  }

  /**
   * Takes the next start slot: the ms to wait before calling, or undefined (nothing taken) when the
   * wait would be longer than `maxWaitMs`.
   */
  reserve(maxWaitMs = this.settings.maxWaitMs): number | undefined {
    const now = this.now();
    const start = Math.max(now, this.nextStartAt, this.pausedUntil);
    if (start - now > maxWaitMs) {
      return undefined;
    }
    if (start > now) {
      this.lastQueuedAt = now;
    }
    this.nextStartAt = Number.isFinite(this.rate) ? start + 1000 / this.rate : start;
    return start - now;
  }

  /** The gateway took the call (whatever it answered, it was not a 429). */
  accepted(): void {
    const now = this.now();
    this.count(now);
    // Grow only while calls queue for their turn: an idle pace says nothing about the limit.
    if (Number.isFinite(this.rate) && now - this.lastQueuedAt <= WINDOW_MS) {
      const elapsed = Math.min(now - this.lastGrowthAt, WINDOW_MS);
      this.rate += Math.max(1, this.rate * GROWTH_PER_SECOND) * (elapsed / 1000);
    }
    this.lastGrowthAt = now;
  }

  /** The gateway answered 429: pause for its Retry-After and cut the pace (once per window). */
  rateLimited(retryAfterMs: number): void {
    const now = this.now();
    this.pausedUntil = Math.max(this.pausedUntil, now + Math.max(0, retryAfterMs));
    // The 429s of calls already in flight tell the same news: one cut per window.
    if (now - this.lastCutAt < WINDOW_MS) {
      return;
    }
    this.lastCutAt = now;
    const measured = this.acceptedInWindow(now);
    const base = Math.min(this.rate, Math.max(measured, this.settings.minRatePerSecond));
    this.rate = Math.max(this.settings.minRatePerSecond, base * CUT_FACTOR);
    this.lastGrowthAt = now;
  }

  private count(now: number): void {
    this.advance(now);
    this.counts[this.bucketIndex] += 1;
  }

  /** Calls per second accepted over the window: nine full buckets and the current, partial one. */
  private acceptedInWindow(now: number): number {
    this.advance(now);
    const width = WINDOW_MS / BUCKETS;
    const coveredMs = WINDOW_MS - width + Math.max(1, now - this.bucketStart);
    return (this.counts.reduce((sum, n) => sum + n, 0) * 1000) / coveredMs;
  }

  /** Moves the ring of 100 ms buckets to `now`, emptying the buckets it passes. */
  private advance(now: number): void {
    const width = WINDOW_MS / BUCKETS;
    const steps = Math.floor((now - this.bucketStart) / width);
    if (steps <= 0) {
      return;
    }
    for (let i = 0; i < Math.min(steps, BUCKETS); i++) {
      this.bucketIndex = (this.bucketIndex + 1) % BUCKETS;
      this.counts[this.bucketIndex] = 0;
    }
    this.bucketStart += steps * width;
  }
}
