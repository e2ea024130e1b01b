import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig, loadConfig } from '../../src/config/config';
import { EventSinkStore } from '../../src/platform/event-stream/event-sink.store';
import { createDataSource } from '../../src/platform/database/data-source';
import { MetricsService } from '../../src/platform/metrics/metrics.service';
import { OutboxPublisher } from '../../src/platform/outbox/outbox.publisher';
import { OutboxRelay } from '../../src/platform/outbox/outbox.relay';
import { OutboxStore } from '../../src/platform/outbox/outbox.store';
import { OutboxWriter } from '../../src/platform/outbox/outbox.writer';
import { DeadLetterService } from '../../src/platform/queue/dead-letter.service';
import { DeadLetterStore } from '../../src/platform/queue/dead-letter.store';
import { QueueDefinition, queueDefinitions } from '../../src/platform/queue/queue-options';
import { QueueRegistry } from '../../src/platform/queue/queue.registry';
import { WorkerHost } from '../../src/platform/queue/worker.host';
import { RedisService } from '../../src/platform/redis/redis.service';

if (!process.env.TEST_LOG_LEVEL) {
  Logger.overrideLogger(false);
}

/**
 * The queue/outbox pipeline built from its real classes (no Nest application), for specs that need
 * several relays or workers in one process, their own queue prefix or their own database.
 */
export interface Pipeline {
  config: AppConfig;
  dataSource: DataSource;
  redis: RedisService;
  metrics: MetricsService;
  queues: QueueRegistry;
  writer: OutboxWriter;
  store: OutboxStore;
  publisher: OutboxPublisher;
  relay: OutboxRelay;
  deadLetters: DeadLetterStore;
  deadLetterService: DeadLetterService;
  workers: WorkerHost;
  close(): Promise<void>;
}

export async function buildPipeline(
  env: Record<string, string>,
  definitions?: (config: AppConfig) => QueueDefinition[],
): Promise<Pipeline> {
  const config = loadConfig({ ...process.env, ...env });
  const dataSource = await createDataSource({ database: { ...config.database, poolSize: 5 } }).initialize();
  const redis = new RedisService(config);
  const metrics = new MetricsService();
  const queues = new QueueRegistry(config, redis, (definitions ?? queueDefinitions)(config));
  const store = new OutboxStore(dataSource);
  const publisher = new OutboxPublisher(config, queues);
  const relay = new OutboxRelay(config, dataSource, store, publisher, metrics, new EventSinkStore(dataSource));
  const deadLetters = new DeadLetterStore(dataSource);
  const workers = new WorkerHost(config, redis, queues.definitions, deadLetters, queues, metrics);
  return {
    config,
    dataSource,
    redis,
    metrics,
    queues,
    writer: new OutboxWriter(),
    store,
    publisher,
    relay,
    deadLetters,
    deadLetterService: new DeadLetterService(dataSource, deadLetters, queues),
    workers,
    close: async () => {
      if (!dataSource.isInitialized) {
        return;
      }
      await relay.stop();
      await workers.close();
      await queues.onApplicationShutdown();
      await redis.onApplicationShutdown();
      await dataSource.destroy();
    },
  };
}
