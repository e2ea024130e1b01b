import { Module } from '@nestjs/common';
import { InventoryController } from './inventory.controller';
import { InventoryRepository } from './inventory.repository';
import { InventoryService } from './inventory.service';
import { ReservationExpiryScheduler } from './reservation-expiry.scheduler';
import { ReservationsRepository } from './reservations.repository';
import { ReservationsService } from './reservations.service';

@Module({
  controllers: [InventoryController],
  providers: [
    InventoryRepository,
    InventoryService,
    ReservationsRepository,
    ReservationsService,
    ReservationExpiryScheduler,
  ],
  exports: [InventoryService, ReservationsService],
})
export class InventoryModule {}
