import { Global, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { APP_CONFIG, InjectConfig } from '../../config/config.module';
import { RetentionRegistry } from '../retention/retention.registry';
import { BatchHandOff } from './batch-hand-off';
import { DeadLetterService } from './dead-letter.service';
import { DeadLetterStore } from './dead-letter.store';
import { Inbox, pruneInbox } from './inbox';
import { JobHandlerRegistry } from './job-handler.registry';
import { queueDefinitions } from './queue-options';
import { QueueMonitor } from './queue.monitor';
import { QUEUE_DEFINITIONS, QueueRegistry } from './queue.registry';
import { WorkerBootstrap } from './worker.bootstrap';
import { WorkerHost } from './worker.host';

/**
 * Queues for every role (producers, Bull Board, health), workers only in the worker role. Feature
 * modules add handlers with `@JobHandler(...)` or `JobHandlerRegistry.register(...)`.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: QUEUE_DEFINITIONS,
      useFactory: (config: AppConfig) => queueDefinitions(config),
      inject: [APP_CONFIG],
    },
    QueueRegistry,
    JobHandlerRegistry,
    WorkerHost,
    WorkerBootstrap,
    DeadLetterStore,
    DeadLetterService,
    Inbox,
    QueueMonitor,
    BatchHandOff,
  ],
  exports: [QueueRegistry, JobHandlerRegistry, DeadLetterStore, DeadLetterService, Inbox, BatchHandOff],
})
export class QueueModule implements OnModuleInit {
  constructor(
    private readonly retention: RetentionRegistry,
    private readonly dataSource: DataSource,
    private readonly deadLetters: DeadLetterStore,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const { inboxSeconds, deadLetterSeconds } = this.config.retention;
    this.retention.register({
      table: 'processed_messages',
      pruneBatch: (limit) => pruneInbox(this.dataSource, inboxSeconds, limit),
    });
    this.retention.register({
      table: 'dead_letters',
      pruneBatch: (limit) => this.deadLetters.pruneSettled(deadLetterSeconds, limit),
    });
  }
}
