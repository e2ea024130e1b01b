import { Global, Module } from '@nestjs/common';
import { BusinessMetrics } from './business-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { RuntimeMetrics } from './runtime-metrics';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, BusinessMetrics, RuntimeMetrics],
  exports: [MetricsService, BusinessMetrics],
})
export class MetricsModule {}
