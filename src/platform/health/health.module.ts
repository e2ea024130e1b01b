import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { HealthCheckRegistry } from './health-check.registry';
import { HealthIndicators } from './health.indicators';

@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [HealthIndicators, HealthCheckRegistry],
  exports: [HealthIndicators, HealthCheckRegistry, TerminusModule],
})
export class HealthModule {}
