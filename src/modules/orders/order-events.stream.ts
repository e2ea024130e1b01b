import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { currentContext } from '../../platform/http/request-context';
import { RedisClient } from '../../platform/redis/redis-connection';
import { RedisService } from '../../platform/redis/redis.service';
import { TERMINAL_STATUSES } from './order-status';
import { orderEventsChannel, StatusEventMessage } from './order-status.service';

const HEARTBEAT_MS = 15_000;

function isFinal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
const CATCH_UP_POLL_MS = 3_000;

interface Stream {
  orderId: string;
  reply: FastifyReply;
  lastId: bigint;
  /** Live events wait until the history was replayed once: sending one first would skip older ones. */
  caughtUp: boolean;
  timers: NodeJS.Timeout[];
}

/**
 * Server-Sent Events of one order's status changes. Live events arrive through Redis pub/sub (so it
 * does not matter which instance processes the order); the history table is the source of truth:
 * a stream starts by replaying what the client missed (`Last-Event-ID`) and re-reads it periodically,
 * so a lost pub/sub message only delays an event. The stream ends only once the order reached a final
 * status, one nothing can follow (CANCELLED, PAYMENT_FAILED, REFUNDED): a CONFIRMED, SHIPPED or DELIVERED
 * order may still move, so its stream replays the whole history and stays open (docs/orders.md).
 */
@Injectable()
export class OrderEventsStream implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderEventsStream.name);
  private subscriber?: RedisClient;
  private readonly streams = new Map<string, Set<Stream>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly redis: RedisService,
  ) {}

  async open(orderId: string, reply: FastifyReply, lastEventId: string | undefined): Promise<void> {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-correlation-id': currentContext()?.correlationId ?? '',
    });
    reply.raw.write('retry: 2000\n\n');
    const stream: Stream = {
      orderId,
      reply,
      lastId: /^\d+$/.test(lastEventId ?? '') ? BigInt(lastEventId!) : 0n,
      caughtUp: false,
      timers: [],
    };
    this.add(stream);
    reply.raw.on('close', () => this.remove(stream));
    stream.timers.push(setInterval(() => reply.raw.write(': keep-alive\n\n'), HEARTBEAT_MS));
    stream.timers.push(setInterval(() => void this.catchUp(stream), CATCH_UP_POLL_MS));
    // Not awaited: with Redis down the subscription waits for it, while the catch-up poll keeps the stream going.
    void this.subscribe(orderId);
    await this.catchUp(stream);
    stream.caughtUp = true;
    await this.endIfFinal(stream);
  }

  /** Before the HTTP server closes: open streams would otherwise hold the shutdown up. */
  beforeApplicationShutdown(): void {
    for (const set of this.streams.values()) {
      for (const stream of set) {
        this.end(stream);
      }
    }
    this.subscriber?.disconnect();
  }

  private async catchUp(stream: Stream): Promise<void> {
    try {
      const rows = await this.dataSource.query<
        {
          id: string;
          from_status: string | null;
          to_status: string;
          reason: string | null;
          created_at: Date;
        }[]
      >(
        // Ordered by the bigint column, not by the text the id is sent as ("10" sorts before "9").
        `SELECT h.id::text AS id, h.from_status, h.to_status, h.reason, h.created_at FROM order_status_history h
         WHERE h.order_id = $1 AND h.id > $2 ORDER BY h.id`,
        [stream.orderId, stream.lastId.toString()],
      );
      for (const row of rows) {
        this.send(stream, {
          id: row.id,
          orderId: stream.orderId,
          from: row.from_status as never,
          status: row.to_status as never,
          reason: row.reason,
          at: row.created_at.toISOString(),
        });
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, orderId: stream.orderId }, 'status catch-up failed');
    }
  }

  /**
   * A client that already saw the final event (Last-Event-ID at or past it) would otherwise get a
   * stream that never ends: close it once the order is final, after one more catch-up so a final
   * event committed meanwhile is still delivered.
   */
  private async endIfFinal(stream: Stream): Promise<void> {
    if (stream.reply.raw.writableEnded) {
      return;
    }
    try {
      const [order] = await this.dataSource.query<{ status: string }[]>(
        'SELECT status FROM orders WHERE id = $1',
        [stream.orderId],
      );
      if (order && isFinal(order.status)) {
        await this.catchUp(stream);
        this.end(stream);
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, orderId: stream.orderId }, 'settled check failed');
    }
  }

  private send(stream: Stream, event: StatusEventMessage): void {
    const id = BigInt(event.id);
    if (id <= stream.lastId || stream.reply.raw.writableEnded) {
      return;
    }
    stream.lastId = id;
    stream.reply.raw.write(`id: ${event.id}\nevent: status\ndata: ${JSON.stringify(event)}\n\n`);
    // Only a final status ends the stream: ending at CONFIRMED cut the replay of a shipped or cancelled order short.
    if (isFinal(event.status)) {
      this.end(stream);
    }
  }

  private end(stream: Stream): void {
    if (!stream.reply.raw.writableEnded) {
      stream.reply.raw.write('event: end\ndata: {}\n\n');
      stream.reply.raw.end();
    }
    this.remove(stream);
  }

  private add(stream: Stream): void {
    const set = this.streams.get(stream.orderId) ?? new Set<Stream>();
    set.add(stream);
    this.streams.set(stream.orderId, set);
  }

  private remove(stream: Stream): void {
    stream.timers.forEach(clearInterval);
    const set = this.streams.get(stream.orderId);
    if (!set?.delete(stream) || set.size > 0) {
      return;
    }
    this.streams.delete(stream.orderId);
    this.subscriber?.unsubscribe(orderEventsChannel(this.redis, stream.orderId)).catch(() => undefined);
  }

  private async subscribe(orderId: string): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = this.redis.connectionFor('blocking');
      this.subscriber.on('message', (_channel: string, message: string) => this.dispatch(message));
    }
    try {
      await this.subscriber.subscribe(orderEventsChannel(this.redis, orderId));
    } catch (error) {
      // Redis down: the stream still works from the history table, only later.
      this.logger.warn({ err: (error as Error).message, orderId }, 'could not subscribe to status events');
    }
  }

  private dispatch(message: string): void {
    const event = JSON.parse(message) as StatusEventMessage;
    for (const stream of this.streams.get(event.orderId) ?? []) {
      if (stream.caughtUp) {
        this.send(stream, event);
      }
    }
  }
}
