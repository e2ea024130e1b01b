import { Module } from '@nestjs/common';
import { InventoryController } from './inventory.controller';
import { InventoryRepository } from './inventory.repository';
import { InventoryService } from './inventory.service';
import { ReservationExpiryScheduler } from './reservation-expiry.scheduler';

@Module({
  controllers: [InventoryController],
  providers: [InventoryRepository, InventoryService, ReservationExpiryScheduler],
  exports: [InventoryService],
})
export class InventoryModule {}
