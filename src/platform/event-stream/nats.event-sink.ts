import { Logger } from '@nestjs/common';
import {
  connect,
  ErrorCode,
  Events,
  headers,
  JetStreamClient,
  nanos,
  NatsConnection,
  NatsError,
  StorageType,
} from 'nats';
import { EventSink, SinkOutcome, StreamEvent, streamMessageBody } from './event-sink';

export interface NatsEventSinkOptions {
  url: string;
  streamName: string;
  subjectPrefix: string;
  duplicateWindowSeconds: number;
  /** Connecting, and waiting for each publication's acknowledgement. */
  timeoutMs: number;
}

/** JetStream's "stream not found" API error. */
const STREAM_NOT_FOUND = 10059;

/**
 * Domain events to NATS JetStream (`nats` client 2.x): subject `<prefix>.<event type>`, header `Nats-Msg-Id`
 * = event id, so a republished event inside the stream's duplicate window is dropped by the server. Connects
 * on first use and, once connected, lets the client reconnect forever; creates the stream when it is missing.
 */
export class NatsEventSink implements EventSink {
  readonly name = 'nats';
  private readonly logger = new Logger(NatsEventSink.name);
  private connection?: NatsConnection;
  private connecting?: Promise<NatsConnection>;
  private client?: JetStreamClient;
  private connected = false;
  private closed = false;

  constructor(private readonly options: NatsEventSinkOptions) {}

  get available(): boolean {
    return this.connected;
  }

  subjectOf(type: string): string {
    return `${this.options.subjectPrefix}.${type}`;
  }

  async publish(events: readonly StreamEvent[]): Promise<SinkOutcome[]> {
    const js = await this.jetStream();
    // Sent back to back on one connection, so JetStream stores them in this order; acks are awaited together.
    const settled = await Promise.allSettled(
      events.map((event) => {
        const h = headers();
        h.set('Content-Type', 'application/json');
        h.set('Aop-Event-Type', event.type);
        h.set('Aop-Schema-Version', String(event.schemaVersion));
        return js.publish(this.subjectOf(event.type), streamMessageBody(event), {
          msgID: event.id,
          headers: h,
          timeout: this.options.timeoutMs,
        });
      }),
    );
    const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as NatsError] : []));
    if (errors.some((e) => e.code === String(ErrorCode.NoResponders))) {
      // No stream listens on the subject (deleted under us): make it again before the next batch.
      this.client = undefined;
    }
    if (errors.length === events.length && (!this.connected || this.client === undefined)) {
      throw new Error(`NATS unavailable: ${errors[0]?.message ?? 'no answer'}`);
    }
    return settled.map((s) =>
      s.status === 'fulfilled'
        ? { ok: true, duplicate: s.value.duplicate }
        : { ok: false, error: (s.reason as Error).message },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection ?? (await this.connecting?.catch(() => undefined));
    this.connection = undefined;
    this.client = undefined;
    this.connected = false;
    await connection?.close();
  }

  private async jetStream(): Promise<JetStreamClient> {
    if (this.closed) {
      throw new Error('NATS sink closed');
    }
    if (this.connection && !this.connected) {
      throw new Error('NATS disconnected (reconnecting)');
    }
    if (this.client) {
      return this.client;
    }
    const connection = await this.connect();
    await this.ensureStream(connection);
    this.client = connection.jetstream({ timeout: this.options.timeoutMs });
    return this.client;
  }

  private async connect(): Promise<NatsConnection> {
    if (this.connection) {
      return this.connection;
    }
    this.connecting ??= connect({
      servers: this.options.url,
      name: 'async-order-processor',
      timeout: this.options.timeoutMs,
      // Once connected, ride out any outage; a first connection that fails is retried by the publisher.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    }).finally(() => {
      this.connecting = undefined;
    });
    const connection = await this.connecting;
    if (this.closed) {
      await connection.close();
      throw new Error('NATS sink closed');
    }
    this.connection = connection;
    this.connected = true;
    void this.watch(connection);
    return connection;
  }

  private async watch(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === Events.Disconnect) {
        this.connected = false;
        this.logger.warn({ server: status.data }, 'NATS disconnected; events wait in the outbox');
      } else if (status.type === Events.Reconnect) {
        this.connected = true;
        this.logger.log({ server: status.data }, 'NATS reconnected');
      }
    }
  }

  private async ensureStream(connection: NatsConnection): Promise<void> {
    const jsm = await connection.jetstreamManager({ timeout: this.options.timeoutMs });
    const { streamName, subjectPrefix, duplicateWindowSeconds } = this.options;
    try {
      await jsm.streams.info(streamName);
    } catch (error) {
      if ((error as NatsError).api_error?.err_code !== STREAM_NOT_FOUND) {
        throw error;
      }
      await jsm.streams.add({
        name: streamName,
        subjects: [`${subjectPrefix}.>`],
        storage: StorageType.File,
        duplicate_window: nanos(duplicateWindowSeconds * 1000),
      });
      this.logger.log({ stream: streamName, subjects: `${subjectPrefix}.>` }, 'created the JetStream stream');
    }
  }
}
