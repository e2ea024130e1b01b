import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { Public, Roles } from '../http/access.decorators';
import { HealthCheckRegistry } from './health-check.registry';
import { HealthIndicators } from './health.indicators';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicators,
    private readonly registry: HealthCheckRegistry,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ description: 'Terminus health result' })
  check(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Public()
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up (never touches a dependency)' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Public()
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: PostgreSQL, Redis and the queues reachable' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, [
      () => this.indicators.database(),
      () => this.indicators.redisPing(),
      ...this.registry.readinessChecks(),
    ]);
  }

  @ApiBearerAuth()
  @Roles('admin')
  @Get('detailed')
  @ApiOperation({ summary: 'Everything an operator wants to see (admin)' })
  detailed(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, [
      () => this.indicators.database(true),
      () => this.indicators.redisPing(true),
      () => this.indicators.memory(this.config.health.heapLimitBytes, this.config.health.rssLimitBytes),
      () => this.indicators.disk(process.cwd(), this.config.health.diskMinFreeRatio),
      ...this.registry.detailedChecks(),
    ]);
  }

  /** Keeps terminus's body on a 503 as well, instead of turning it into a problem document. */
  private async run(reply: FastifyReply, checks: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
        return error.getResponse() as HealthCheckResult;
      }
      throw error;
    }
  }
}
