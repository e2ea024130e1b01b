import { Global, Module } from '@nestjs/common';
import { RetentionPruner } from './retention.pruner';
import { RetentionRegistry } from './retention.registry';

/** The registry every module adds its tables' retention rules to, and the pruner that runs them. */
@Global()
@Module({
  providers: [RetentionRegistry, RetentionPruner],
  exports: [RetentionRegistry],
})
export class RetentionModule {}
