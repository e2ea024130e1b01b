import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { MetricsService } from '../metrics/metrics.service';
import { DomainEventType } from '../outbox/domain-events';
import { upcast } from '../outbox/upcasters';
import { PeriodicTask } from '../scheduling/periodic-task';
import { EVENT_SINKS, EventSink, StreamEvent } from './event-sink';
import { EventSinkStore, SinkMarkRow } from './event-sink.store';

/**
 * Feeds each event sink from its marks in the outbox (worker role): one loop per sink claims its due
 * events in order, publishes them and marks them published in one transaction. A crash between the
 * broker's acknowledgement and the commit publishes the batch again under the same event ids, which the
 * broker drops (NATS: `Nats-Msg-Id` inside the duplicate window). A sink that is down only backs off
 * its own loop: the relay and the job queues never wait for it, and its events wait in PostgreSQL.
 */
@Injectable()
export class EventStreamPublisher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EventStreamPublisher.name);
  private readonly events: Counter<'sink' | 'outcome'>;
  private readonly unavailable: Counter<'sink'>;
  private readonly lag: Histogram<'sink'>;
  private readonly pending: Gauge<'sink'>;
  private readonly oldestAge: Gauge<'sink'>;
  private readonly up: Gauge<'sink'>;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly sleeping = new Set<() => void>();
  private sampling?: PeriodicTask;
  private acknowledgedBatches = 0;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly store: EventSinkStore,
    @Inject(EVENT_SINKS) readonly sinks: EventSink[],
    metrics: MetricsService,
  ) {
    const registers = [metrics.registry];
    this.events = new Counter({
      name: 'aop_event_stream_events_total',
      help: 'Outbox events handed to an event sink: published, duplicate (the broker already had it), failed (retried later)',
      labelNames: ['sink', 'outcome'],
      registers,
    });
    this.unavailable = new Counter({
      name: 'aop_event_stream_unavailable_total',
      help: 'Publishing rounds that found the sink unreachable (its events wait in the outbox)',
      labelNames: ['sink'],
      registers,
    });
    this.lag = new Histogram({
      name: 'aop_event_stream_lag_seconds',
      help: 'From the outbox row written (PostgreSQL clock) to its event acknowledged by the sink',
      labelNames: ['sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.pending = new Gauge({
      name: 'aop_event_stream_pending_events',
      help: 'Outbox events a sink has yet to publish (sampled)',
      labelNames: ['sink'],
      registers,
    });
    this.oldestAge = new Gauge({
      name: 'aop_event_stream_oldest_pending_age_seconds',
      help: 'Age of the oldest event a sink has yet to publish (sampled): the stream publication lag',
      labelNames: ['sink'],
      registers,
    });
    this.up = new Gauge({
      name: 'aop_event_stream_sink_up',
      help: '1 while the sink is connected (sampled)',
      labelNames: ['sink'],
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
    await Promise.all(this.sinks.map((sink) => sink.close()));
  }

  start(): void {
    if (this.running || this.sinks.length === 0) {
      return;
    }
    this.running = true;
    this.loops = this.sinks.map((sink) => this.run(sink));
    this.sampling = new PeriodicTask({
      name: 'event stream backlog sample',
      intervalMs: this.config.queue.metricsIntervalMs,
      run: () => this.sampleBacklog(),
      logger: this.logger,
    });
    this.sampling.start();
  }

  /** Lets the batch in flight finish (publish + commit); the sinks stay open (see beforeApplicationShutdown). */
  async stop(): Promise<void> {
    if (!this.running) {
      return;
    }
    this.running = false;
    this.sleeping.forEach((wake) => wake());
    await Promise.all([...this.loops, this.sampling?.stop()]);
    this.loops = [];
  }

  /**
   * Claims, publishes and marks one batch of a sink's events; returns how many it claimed (0 when another
   * process holds this sink). Throws, marking nothing, when the sink is unreachable.
   */
  async publishBatch(sink: EventSink): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      const rows = await this.store.claim(tx, sink.name, this.config.outbox.batchSize);
      if (!rows || rows.length === 0) {
        return 0;
      }
      const events: StreamEvent[] = [];
      const refused: { id: string; error: string }[] = [];
      for (const row of rows) {
        try {
          events.push(streamEventOf(row));
        } catch (error) {
          refused.push({ id: row.id, error: (error as Error).message });
        }
      }
      const outcomes = events.length > 0 ? await sink.publish(events) : [];
      this.crashIfInjected();
      const published: string[] = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.ok) {
          published.push(events[i].id);
          this.events.inc({ sink: sink.name, outcome: outcome.duplicate ? 'duplicate' : 'published' });
        } else {
          refused.push({ id: events[i].id, error: outcome.error });
        }
      });
      const lags = await this.store.markPublished(tx, sink.name, published);
      lags.forEach((seconds) => this.lag.observe({ sink: sink.name }, seconds));
      for (const { id, error } of refused) {
        await this.store.markFailed(tx, sink.name, [id], error, {
          baseDelayMs: this.config.eventStream.pollIntervalMs,
          maxDelayMs: this.config.eventStream.retryMaxDelayMs,
        });
      }
      if (refused.length > 0) {
        this.events.inc({ sink: sink.name, outcome: 'failed' }, refused.length);
        this.logger.warn(
          { sink: sink.name, events: refused.length, err: refused[0].error },
          'event sink refused events; retrying later',
        );
      }
      return rows.length;
    });
  }

  async sampleBacklog(): Promise<void> {
    for (const sink of this.sinks) {
      const backlog = await this.store.backlog(sink.name);
      this.pending.set({ sink: sink.name }, backlog.pending);
      this.oldestAge.set({ sink: sink.name }, backlog.oldestPendingAgeSeconds);
      this.up.set({ sink: sink.name }, sink.available ? 1 : 0);
    }
  }

  /** EVENT_STREAM_CRASH_AFTER_BATCHES (chaos tests): dies like a killed process inside the crash window. */
  private crashIfInjected(): void {
    const after = this.config.eventStream.crashAfterBatches;
    this.acknowledgedBatches += 1;
    if (after !== undefined && this.acknowledgedBatches >= after) {
      this.logger.warn(
        { batches: this.acknowledgedBatches },
        'EVENT_STREAM_CRASH_AFTER_BATCHES reached: killing the process',
      );
      process.kill(process.pid, 'SIGKILL');
    }
  }

  private async run(sink: EventSink): Promise<void> {
    const { pollIntervalMs, retryMaxDelayMs } = this.config.eventStream;
    let failures = 0;
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.publishBatch(sink);
        if (failures > 0) {
          this.logger.log({ sink: sink.name, failedRounds: failures }, 'event sink reachable again');
        }
        failures = 0;
      } catch (error) {
        failures += 1;
        this.unavailable.inc({ sink: sink.name });
        if (failures === 1) {
          this.logger.warn(
            { sink: sink.name, err: (error as Error).message },
            'event sink unreachable; backing off',
          );
        }
      }
      if (failures > 0) {
        await this.sleep(Math.min(retryMaxDelayMs, pollIntervalMs * 2 ** Math.min(failures, 20)));
      } else if (claimed < this.config.outbox.batchSize) {
        await this.sleep(pollIntervalMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeping.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeping.add(wake);
    });
  }
}

/** Lifts old payload versions, so stream consumers only ever see the current shape. */
function streamEventOf(row: SinkMarkRow): StreamEvent {
  const { schemaVersion, payload } = upcast(row.eventType as DomainEventType, row.schemaVersion, row.payload);
  return {
    id: row.id,
    type: row.eventType,
    schemaVersion,
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    correlationId: row.correlationId,
    occurredAt: new Date(row.createdAt),
    data: payload,
  };
}
