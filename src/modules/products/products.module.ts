import { Module } from '@nestjs/common';
import { InventoryModule } from '../inventory/inventory.module';
import { ProductCache } from './product-cache';
import { ProductsController } from './products.controller';
import { ProductsRepository } from './products.repository';
import { ProductsService } from './products.service';

@Module({
  imports: [InventoryModule],
  controllers: [ProductsController],
  providers: [ProductsRepository, ProductsService, ProductCache],
  exports: [ProductsService],
})
export class ProductsModule {}
