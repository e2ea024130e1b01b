export interface PeriodicTaskOptions {
  /** Names the task in its log lines. */
  name: string;
  /** The pause from the end of one pass to the start of the next, so passes never overlap. */
  intervalMs: number;
  /** One pass. A rejection is logged and the next pass runs as scheduled. */
  run: () => Promise<unknown>;
  logger: { warn(message: unknown, ...rest: unknown[]): void };
  /** Before the first pass; the interval by default. */
  firstDelayMs?: number;
  /** After a failed pass, instead of the interval. */
  retryDelayMs?: number;
  /** Ends the task after the first pass that succeeds: a set-up step retried until it works. */
  untilSuccess?: boolean;
}

/**
 * The timer and drain that every scheduler of the worker role needs: passes one after another (a
 * setTimeout chain, never setInterval, so a slow pass is not stacked on), failures logged and retried,
 * and `stop()` that waits for the pass in flight, so shutdown never closes a connection under it.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly options: PeriodicTaskOptions) {}

  /** Schedules the first pass; calling it again, or after stop(), does nothing. */
  start(): void {
    if (this.started || this.stopped) {
      return;
    }
    this.started = true;
    this.schedule(this.options.firstDelayMs ?? this.options.intervalMs);
  }

  /** True from start() until stop() (or, with untilSuccess, until the pass that succeeded). */
  get isScheduled(): boolean {
    return this.timer !== undefined || this.running !== undefined;
  }

  /** True once stop() was called: a long pass checks it between batches to end early. */
  get isStopping(): boolean {
    return this.stopped;
  }

  /** Cancels the next pass and waits for the one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.pass().finally(() => {
        this.running = undefined;
      });
    }, delayMs);
    // A pending pass alone must not keep the process alive; the pass in flight does, until it ends.
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    const { name, intervalMs, logger } = this.options;
    try {
      await this.options.run();
    } catch (error) {
      const retryMs = this.options.retryDelayMs ?? intervalMs;
      logger.warn({ task: name, err: (error as Error).message }, `${name} failed; retrying in ${retryMs} ms`);
      this.schedule(retryMs);
      return;
    }
    if (!this.options.untilSuccess) {
      this.schedule(intervalMs);
    }
  }
}
