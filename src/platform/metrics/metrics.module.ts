import { Global, Module } from '@nestjs/common';
import { BusinessMetrics } from './business-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { RuntimeMetrics } from './runtime-metrics';
import { WorkerMetricsServer } from './worker-metrics.server';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, BusinessMetrics, RuntimeMetrics, WorkerMetricsServer],
  exports: [MetricsService, BusinessMetrics],
})
export class MetricsModule {}
