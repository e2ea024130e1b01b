import { Module } from '@nestjs/common';
import { InvariantsController } from './invariants.controller';
import { InvariantsScheduler } from './invariants.scheduler';
import { InvariantsService } from './invariants.service';

/** The invariant checker: admin endpoint, periodic run in the worker role, metric and health probe. */
@Module({
  controllers: [InvariantsController],
  providers: [InvariantsService, InvariantsScheduler],
  exports: [InvariantsService],
})
export class InvariantsModule {}
