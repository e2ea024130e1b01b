import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { queueKeyPrefix, RedisClient } from '../redis/redis-connection';
import { RedisService } from '../redis/redis.service';
import { QueueDefinition } from './queue-options';

export const QUEUE_DEFINITIONS = Symbol('QUEUE_DEFINITIONS');

/**
 * The one place that creates BullMQ Queue objects (producers). They share one fail-fast connection:
 * while Redis is down an add fails at once, and the outbox keeps the event until it returns.
 */
@Injectable()
export class QueueRegistry implements OnApplicationShutdown {
  private readonly logger = new Logger(QueueRegistry.name);
  private readonly queues = new Map<string, Queue>();
  readonly connection: RedisClient;
  private lastErrorLoggedAt = 0;

  constructor(
    @InjectConfig() config: AppConfig,
    redis: RedisService,
    @Inject(QUEUE_DEFINITIONS) readonly definitions: QueueDefinition[],
  ) {
    this.connection = redis.connectionFor('producer');
    for (const definition of definitions) {
      const queue = new Queue(definition.name, {
        connection: this.connection,
        prefix: queueKeyPrefix(config.queue.prefix, definition.name, config.redis.mode),
        defaultJobOptions: definition.jobOptions,
      });
      queue.on('error', (error: Error) => this.logError(definition.name, error));
      this.queues.set(definition.name, queue);
    }
  }

  get(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) {
      throw new Error(`Unknown queue "${name}"`);
    }
    return queue;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }

  definition(name: string): QueueDefinition {
    const definition = this.definitions.find((d) => d.name === name);
    if (!definition) {
      throw new Error(`Unknown queue "${name}"`);
    }
    return definition;
  }

  /** Redis is reachable through the producers' connection. */
  async ping(): Promise<void> {
    await this.connection.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close().catch(() => undefined)));
  }

  private logError(queue: string, error: Error): void {
    if (Date.now() - this.lastErrorLoggedAt > 10_000) {
      this.lastErrorLoggedAt = Date.now();
      this.logger.warn({ queue, err: error.message }, 'queue connection error');
    }
  }
}
