import { Module, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { RetentionRegistry } from '../../platform/retention/retention.registry';
import { IdempotencyRecordsRepository } from './idempotency-records.repository';
import { OrderEventsStream } from './order-events.stream';
import { OrderStatusService } from './order-status.service';
import { OrderQueries } from './order.queries';
import { OrdersController } from './orders.controller';
import { PlaceOrderCommand } from './place-order.command';

@Module({
  controllers: [OrdersController],
  providers: [
    PlaceOrderCommand,
    OrderQueries,
    OrderStatusService,
    OrderEventsStream,
    IdempotencyRecordsRepository,
  ],
  exports: [OrderStatusService, OrderQueries],
})
export class OrdersModule implements OnModuleInit {
  constructor(
    private readonly retention: RetentionRegistry,
    private readonly idempotencyRecords: IdempotencyRecordsRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Orders, lines and status history are business records: never pruned (docs/operations.md, archiving). */
  onModuleInit(): void {
    const { idempotencySeconds } = this.config.retention;
    this.retention.register({
      table: 'idempotency_records',
      pruneBatch: (limit) => this.idempotencyRecords.pruneExpired(idempotencySeconds, limit),
    });
  }
}
