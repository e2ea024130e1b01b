import { Module } from '@nestjs/common';
import { InventoryController } from './inventory.controller';
import { InventoryRepository } from './inventory.repository';
import { ReservationExpiryScheduler } from './reservation-expiry.scheduler';
import { ReservationsRepository } from './reservations.repository';
import { ReservationsService } from './reservations.service';
import { StockService } from './stock.service';

@Module({
  controllers: [InventoryController],
  providers: [
    InventoryRepository,
    StockService,
    ReservationsRepository,
    ReservationsService,
    ReservationExpiryScheduler,
  ],
  exports: [StockService, ReservationsService],
})
export class InventoryModule {}
