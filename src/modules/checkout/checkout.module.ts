import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { Clock, SystemClock } from '../../platform/clock';
import { InventoryModule } from '../inventory/inventory.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { OrdersModule } from '../orders/orders.module';
import { PaymentsModule } from '../payments/payments.module';
import { CheckoutSaga } from './checkout.saga';
import { CheckoutWorker } from './checkout.worker';
import { OrderActionsController } from './order-actions.controller';
import { SagasAdminController } from './sagas-admin.controller';
import { OrderActionsService } from './order-actions.service';
import { PaymentStatusReader } from './payment-status.reader';
import { SagaAnnouncer } from './saga-announcer';
import { SagaFaultInjector } from './saga-faults';
import { SagaRecoveryScheduler } from './saga-recovery.scheduler';
import { SagaTimeline } from './saga-timeline';
import { SagaRepository } from './saga.repository';
import { SagaRunner } from './saga.runner';

/** The order saga (checkout.saga.ts is the table), its workers, its recovery, and the order actions. */
@Module({
  imports: [OrdersModule, InventoryModule, PaymentsModule, NotificationsModule],
  controllers: [OrderActionsController, SagasAdminController],
  providers: [
    CheckoutSaga,
    SagaRunner,
    SagaRepository,
    SagaTimeline,
    SagaAnnouncer,
    {
      provide: SagaFaultInjector,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new SagaFaultInjector(config.saga.crashAt),
    },
    { provide: Clock, useClass: SystemClock },
    PaymentStatusReader,
    CheckoutWorker,
    SagaRecoveryScheduler,
    OrderActionsService,
  ],
  exports: [SagaRunner],
})
export class CheckoutModule {}
