import { DynamicModule, Module } from '@nestjs/common';
import { Logger } from 'pino';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { AdminModule } from './modules/admin/admin.module';
import { AuthCoreModule } from './modules/auth/auth-core.module';
import { CheckoutModule } from './modules/checkout/checkout.module';
import { ConsoleModule } from './modules/console/console.module';
import { OrdersModule } from './modules/orders/orders.module';
import { AuthModule } from './modules/auth/auth.module';
import { UsersModule } from './modules/users/users.module';
import { InvariantsModule } from './modules/invariants/invariants.module';
import { InventoryModule } from './modules/inventory/inventory.module';
import { ProductsModule } from './modules/products/products.module';
import { NotificationsModule } from './modules/notifications/notifications.module';
import { PaymentsModule } from './modules/payments/payments.module';
import { WebhooksModule } from './modules/webhooks/webhooks.module';
import { DatabaseModule } from './platform/database/database.module';
import { HealthModule } from './platform/health/health.module';
import { LoggingModule } from './platform/logging/logging.module';
import { MetricsModule } from './platform/metrics/metrics.module';
import { OutboxModule } from './platform/outbox/outbox.module';
import { QueueModule } from './platform/queue/queue.module';
import { RedisModule } from './platform/redis/redis.module';

/**
 * The whole application. Every role loads the same modules; what runs is decided by the role:
 * `api` and `all` listen on HTTP, `worker` and `all` start the background workers (each worker
 * component checks `runsWorkers(config)` before it starts).
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        DatabaseModule,
        RedisModule,
        MetricsModule,
        HealthModule,
        QueueModule,
        OutboxModule,
        AuthCoreModule,
        OrdersModule,
        AuthModule,
        UsersModule,
        ProductsModule,
        InventoryModule,
        AdminModule,
        CheckoutModule,
        PaymentsModule,
        NotificationsModule,
        InvariantsModule,
        ConsoleModule,
        WebhooksModule,
      ],
    };
  }
}
