import { Module } from '@nestjs/common';
import { InventoryModule } from '../inventory/inventory.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { OrdersModule } from '../orders/orders.module';
import { PaymentsModule } from '../payments/payments.module';
import { CheckoutSaga } from './checkout.saga';
import { CheckoutWorker } from './checkout.worker';
import { OrderActionsController } from './order-actions.controller';
import { OrderActionsService } from './order-actions.service';
import { PaymentStatusReader } from './payment-status.reader';
import { SagaRecoveryScheduler } from './saga-recovery.scheduler';
import { SagaRepository } from './saga.repository';
import { SagaRunner } from './saga.runner';

/** The order saga (checkout.saga.ts is the table), its workers, its recovery, and the order actions. */
@Module({
  imports: [OrdersModule, InventoryModule, PaymentsModule, NotificationsModule],
  controllers: [OrderActionsController],
  providers: [
    CheckoutSaga,
    SagaRunner,
    SagaRepository,
    PaymentStatusReader,
    CheckoutWorker,
    SagaRecoveryScheduler,
    OrderActionsService,
  ],
  exports: [SagaRunner],
})
export class CheckoutModule {}
