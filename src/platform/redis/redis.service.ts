import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { AppConfig, RedisMode } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { createRedisConnection, currentNode, queueKeyPrefix, RedisClient } from './redis-connection';

/**
 * The Redis connection shared by the cache, rate limits and pub/sub publishers. Commands fail at once
 * while Redis is down (no offline queue), so callers can answer 503 quickly instead of hanging.
 * BullMQ, QueueEvents and subscribers get connections of their own from `connectionFor`; all of them
 * come from the one factory, in whichever mode (standalone, Sentinel, Cluster) is configured.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: RedisClient;
  readonly mode: RedisMode;
  /** Prefix of every key the application writes: `${QUEUE_PREFIX}:`. */
  readonly keyPrefix: string;
  private readonly extra: RedisClient[] = [];
  private lastErrorLoggedAt = 0;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    this.mode = config.redis.mode;
    this.keyPrefix = `${config.queue.prefix}:`;
    this.client = this.create('producer');
  }

  async onModuleInit(): Promise<void> {
    if (this.client.status === 'ready') {
      return;
    }
    // Wait briefly for the first connection; the app still starts if Redis is down (readiness says 503).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.config.startup.connectTimeoutMs);
      this.client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  key(...parts: string[]): string {
    return this.keyPrefix + parts.join(':');
  }

  /** BullMQ's prefix for `queue`: a hash tag per queue in cluster mode (see `queueKeyPrefix`). */
  queuePrefix(queue: string): string {
    return queueKeyPrefix(this.config.queue.prefix, queue, this.mode);
  }

  /**
   * A dedicated connection: `blocking` ones (BullMQ workers, subscribers) wait for Redis forever;
   * the others fail fast while it is down.
   */
  connectionFor(kind: 'blocking' | 'producer'): RedisClient {
    const connection = this.create(kind);
    this.extra.push(connection);
    return connection;
  }

  /** Where the shared client is connected: the mode and the data node (for readiness and logs). */
  describe(): { mode: RedisMode; node: string | undefined; masters?: string[] } {
    const node = currentNode(this.client, this.keyPrefix);
    if (this.client instanceof Cluster) {
      const masters = this.client.nodes('master').map((n) => `${n.options.host}:${n.options.port}`);
      return { mode: this.mode, node, masters: masters.sort() };
    }
    return { mode: this.mode, node };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.client, ...this.extra].map((c) => closeConnection(c)));
  }

  private create(kind: 'blocking' | 'producer'): RedisClient {
    const client = createRedisConnection(this.config.redis, kind);
    client.on('error', (error: Error) => {
      // ioredis repeats the same error on every reconnect attempt; one line every 10 s is enough.
      if (Date.now() - this.lastErrorLoggedAt > 10_000) {
        this.lastErrorLoggedAt = Date.now();
        this.logger.warn({ err: error.message, mode: this.mode }, 'Redis connection error');
      }
    });
    return client;
  }
}

/** QUIT when connected (lets pending replies arrive); otherwise just stop reconnecting. */
export async function closeConnection(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]).catch(
    () => undefined,
  );
  client.disconnect();
}
