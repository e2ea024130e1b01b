/**
 * Where the outbox's domain events go besides the job queues: a broker other services read (NATS JetStream
 * today, Kafka next). The event stream publisher (event-stream.publisher.ts) feeds every configured sink from
 * the outbox, each with its own marks, so one sink being down never holds back the queues or another sink.
 */
export interface EventSink {
  /** The key of this sink's marks in `outbox_sink_marks`: renaming it republishes everything pending. */
  readonly name: string;
  /** True while the broker is reachable; the publisher does not try a batch while it is false. */
  readonly available: boolean;
  /**
   * Publishes the events in order and answers for each, in the same order. Each event must carry its id
   * as the broker's deduplication key, so a batch published again after a crash adds nothing. Rejects
   * (publishing nothing for sure) only when the broker as a whole cannot be reached.
   */
  publish(events: readonly StreamEvent[]): Promise<SinkOutcome[]>;
  close(): Promise<void>;
}

/** An outbox event as a sink publishes it: the current payload version (upcast), never a raw row. */
export interface StreamEvent {
  id: string;
  type: string;
  schemaVersion: number;
  aggregateType: string;
  aggregateId: string;
  correlationId: string | null;
  occurredAt: Date;
  data: unknown;
}

export type SinkOutcome = { ok: true; duplicate: boolean } | { ok: false; error: string };

/** The JSON body every sink sends: the documented contract of docs/events.md. */
export function streamMessageBody(event: StreamEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    occurredAt: event.occurredAt.toISOString(),
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    correlationId: event.correlationId,
    data: event.data,
  });
}

/** Nest token of the configured sinks (an array, empty when the stream is off). */
export const EVENT_SINKS = Symbol('EVENT_SINKS');
