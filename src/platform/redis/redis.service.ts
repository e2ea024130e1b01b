import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis, RedisOptions } from 'ioredis';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';

/**
 * The Redis connection shared by the cache, rate limits and pub/sub publishers. Commands fail at once
 * while Redis is down (no offline queue), so callers can answer 503 quickly instead of hanging.
 * BullMQ gets connections of its own from `connectionFor`.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: Redis;
  /** Prefix of every key the application writes: `${QUEUE_PREFIX}:`. */
  readonly keyPrefix: string;
  private readonly extra: Redis[] = [];
  private lastErrorLoggedAt = 0;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    this.keyPrefix = `${config.queue.prefix}:`;
    this.client = this.create({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
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

  /**
   * A dedicated connection: `blocking` ones (BullMQ workers, subscribers) wait for Redis forever;
   * the others fail fast while it is down.
   */
  connectionFor(kind: 'blocking' | 'producer'): Redis {
    const connection =
      kind === 'blocking'
        ? this.create({ maxRetriesPerRequest: null, enableOfflineQueue: true })
        : this.create({ maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.extra.push(connection);
    return connection;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.client, ...this.extra].map((c) => closeConnection(c)));
  }

  private create(options: RedisOptions): Redis {
    const client = new Redis(this.config.redis.url, {
      connectTimeout: 2000,
      disconnectTimeout: 200,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      ...options,
    });
    client.on('error', (error: Error) => {
      // ioredis repeats the same error on every reconnect attempt; one line every 10 s is enough.
      if (Date.now() - this.lastErrorLoggedAt > 10_000) {
        this.lastErrorLoggedAt = Date.now();
        this.logger.warn({ err: error.message }, 'Redis connection error');
      }
    });
    return client;
  }
}

/** QUIT when connected (lets pending replies arrive); otherwise just stop reconnecting. */
export async function closeConnection(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]).catch(
    () => undefined,
  );
  client.disconnect();
}
