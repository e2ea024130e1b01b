/** What a handler reports: a small JSON object that Bull Board and the operator console show as is. */
export type JobProgress = Record<string, unknown>;

/**
 * A job's progress, written to BullMQ (`job.updateProgress`) without costing throughput: reports only
 * replace a value in memory, and at most one write per `intervalMs` leaves the process, the first not
 * before the job has run that long. So the common short job writes nothing (its state says it all), a
 * batch that reports once per order writes once per interval at most, and a slow job's latest step is
 * in Redis within `intervalMs` of its report.
 */
export class JobProgressReporter {
  private latest?: JobProgress;
  private written?: JobProgress;
  private inFlight?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private finished = false;

  constructor(
    private readonly write: (value: JobProgress) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
    private readonly startedAt = Date.now(),
  ) {}

  report(value: JobProgress): void {
    if (this.finished) {
      return;
    }
    this.latest = value;
    this.schedule();
  }

  /**
   * The job is over (before BullMQ records its outcome): a job whose progress was already visible gets
   * its last report written, so a finished job does not show a stale step; one that never wrote, writes nothing.
   */
  async finish(): Promise<void> {
    this.finished = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (this.written !== undefined && this.latest !== this.written) {
      this.flush();
      await this.inFlight;
    }
  }

  private schedule(): void {
    // A write in flight picks up the latest value when it ends; a timer already set will too.
    if (this.inFlight || this.timer) {
      return;
    }
    const wait = Math.max(this.startedAt, this.lastWriteAt) + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
    this.timer.unref();
  }

  private flush(): void {
    const value = this.latest;
    if (value === undefined || value === this.written) {
      return;
    }
    this.written = value;
    this.lastWriteAt = Date.now();
    this.inFlight = this.write(value)
      .catch(this.onError)
      .finally(() => {
        this.inFlight = undefined;
        if (!this.finished && this.latest !== this.written) {
          this.schedule();
        }
      });
  }
}
