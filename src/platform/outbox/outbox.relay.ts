import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { EventSinkStore } from '../event-stream/event-sink.store';
import { eventSinkNamesFor } from '../event-stream/event-sinks';
import { runWithContext } from '../http/request-context';
import { MetricsService } from '../metrics/metrics.service';
import { PeriodicTask } from '../scheduling/periodic-task';
import { OutboxListener } from './outbox.listener';
import { OutboxPublisher } from './outbox.publisher';
import { OutboxStore } from './outbox.store';
import { OUTBOX_CHANNEL } from './outbox.writer';

/**
 * Moves committed outbox rows into BullMQ (worker role). Woken by NOTIFY at commit, with a fallback
 * poll that keeps it going while LISTEN is down. Each batch is claimed in one transaction (FOR UPDATE
 * SKIP LOCKED), published (jobId = event id) and marked processed before commit; a failed publish
 * backs the rows off and parks them after OUTBOX_MAX_ATTEMPTS. A crash after publishing but before
 * commit re-publishes the same job ids, which BullMQ ignores: delivery is at least once.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly listener: OutboxListener;
  private readonly lag: Histogram;
  private readonly relayed: Counter<'outcome'>;
  private readonly pending: Gauge;
  private readonly parked: Gauge;
  private readonly oldestAge: Gauge;
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private wakeRequested = false;
  private housekeeping: PeriodicTask[] = [];
  private readonly sinkNames: string[];

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly store: OutboxStore,
    private readonly publisher: OutboxPublisher,
    metrics: MetricsService,
    private readonly sinkMarks: EventSinkStore,
  ) {
    this.sinkNames = eventSinkNamesFor(config);
    // LISTEN needs a session of its own: through a transaction pooler it would never hear a NOTIFY.
    this.listener = new OutboxListener(config.database.directUrl, OUTBOX_CHANNEL, () => this.wake());
    const registers = [metrics.registry];
    this.lag = new Histogram({
      name: 'aop_outbox_relay_lag_seconds',
      help: 'From the outbox row written (PostgreSQL clock) to its job enqueued in Redis',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.relayed = new Counter({
      name: 'aop_outbox_events_relayed_total',
      help: 'Outbox events handled by this relay: published, unrouted (no consumer), failed (retried later), parked',
      labelNames: ['outcome'],
      registers,
    });
    this.pending = new Gauge({
      name: 'aop_outbox_pending_events',
      help: 'Outbox events not yet published (sampled)',
      registers,
    });
    this.parked = new Gauge({
      name: 'aop_outbox_parked_events',
      help: 'Outbox events parked after too many failed publications (sampled)',
      registers,
    });
    this.oldestAge = new Gauge({
      name: 'aop_outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest unpublished outbox event (sampled)',
      registers,
    });
  }

  onApplicationBootstrap(): void {
    if (runsWorkers(this.config)) {
      this.start();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.listener.start();
    this.loop = this.run();
    const every = (name: string, intervalMs: number, run: () => Promise<unknown>) =>
      new PeriodicTask({ name, intervalMs, run, logger: this.logger });
    this.housekeeping = [
      every('outbox backlog sample', this.config.queue.metricsIntervalMs, () => this.sampleBacklog()),
      every('outbox pruning', this.config.outbox.pruneIntervalMs, () => this.prune()),
    ];
    this.housekeeping.forEach((task) => task.start());
  }

  /** Stops claiming, lets the batch in flight finish (publish + commit), then closes the LISTEN connection. */
  async stop(): Promise<void> {
    if (!this.running) {
      return;
    }
    this.running = false;
    this.wake();
    await Promise.all([this.loop, ...this.housekeeping.map((task) => task.stop())]);
    this.housekeeping = [];
    await this.listener.stop();
  }

  /** Claims, publishes and settles one batch; returns how many rows it claimed. */
  async relayBatch(): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      // Only "published" marks commit here, and losing them loses nothing: a row whose mark was lost in
      // a PostgreSQL crash is published again under the same job id (BullMQ ignores it) and consumers
      // are idempotent per order or per message (docs/performance.md#why-a-lost-published-mark-loses-nothing). So this commit does not wait
      // for the WAL flush.
      await tx.query('SET LOCAL synchronous_commit = off');
      const rows = await this.store.claimBatch(tx, this.config.outbox.batchSize);
      if (rows.length === 0) {
        return 0;
      }
      // Event sinks (docs/events.md) publish from their own marks, so a broker outage never holds this batch.
      await this.sinkMarks.track(tx, this.sinkNames, rows.map((r) => r.id));
      const outcome = await runWithContext({ correlationId: `outbox-relay` }, () =>
        this.publisher.publish(rows),
      );
      const done = [...outcome.published, ...outcome.unrouted].map((r) => r.id);
      const lags = await this.store.markProcessed(tx, done);
      lags.forEach((seconds) => this.lag.observe(seconds));
      this.relayed.inc({ outcome: 'published' }, outcome.published.length);
      this.relayed.inc({ outcome: 'unrouted' }, outcome.unrouted.length);
      for (const failure of outcome.failed) {
        const parked = await this.store.markFailed(
          tx,
          failure.rows.map((r) => r.id),
          failure.error,
          {
            maxAttempts: this.config.outbox.maxAttempts,
            baseDelayMs: this.config.outbox.retryBaseDelayMs,
            maxDelayMs: this.config.outbox.retryMaxDelayMs,
          },
          !failure.brokerDown,
        );
        this.relayed.inc({ outcome: 'failed' }, failure.rows.length - parked);
        this.relayed.inc({ outcome: 'parked' }, parked);
        this.logger.warn(
          { events: failure.rows.length, parked, brokerDown: failure.brokerDown, err: failure.error },
          'outbox publish failed; backing off',
        );
      }
      return rows.length;
    });
  }

  async sampleBacklog(): Promise<void> {
    const stats = await this.store.stats();
    this.pending.set(stats.pending);
    this.parked.set(stats.parked);
    this.oldestAge.set(stats.oldestPendingAgeSeconds);
  }

  async prune(): Promise<number> {
    const deleted = await this.store.prune(this.config.outbox.retentionHours);
    if (deleted > 0) {
      this.logger.log(
        { deleted, retentionHours: this.config.outbox.retentionHours },
        'pruned processed outbox events',
      );
    }
    return deleted;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.relayBatch();
      } catch (error) {
        // PostgreSQL unreachable or the like: nothing was marked, the next round retries.
        this.logger.warn({ err: (error as Error).message }, 'outbox relay round failed');
      }
      if (claimed < this.config.outbox.batchSize) {
        await this.waitForWork(this.config.outbox.pollIntervalMs);
      }
    }
  }

  /** Resolves on a NOTIFY, on stop, or after the poll interval, whichever comes first. */
  private waitForWork(ms: number): Promise<void> {
    if (this.wakeRequested || !this.running) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wake(): void {
    const wakeUp = this.wakeUp;
    if (wakeUp) {
      this.wakeUp = undefined;
      wakeUp();
    } else {
      // A NOTIFY that arrives mid-batch must not be lost: the loop checks this before sleeping.
      this.wakeRequested = true;
    }
  }
}
