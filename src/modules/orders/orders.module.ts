import { Module } from '@nestjs/common';
import { OrderEventsStream } from './order-events.stream';
import { OrderStatusService } from './order-status.service';
import { OrderQueries } from './order.queries';
import { OrdersController } from './orders.controller';
import { PlaceOrderCommand } from './place-order.command';

@Module({
  controllers: [OrdersController],
  providers: [PlaceOrderCommand, OrderQueries, OrderStatusService, OrderEventsStream],
  exports: [OrderStatusService, OrderQueries],
})
export class OrdersModule {}
