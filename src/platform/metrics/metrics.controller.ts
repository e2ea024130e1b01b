import { Controller, Get, Headers, Logger, OnModuleInit, Res, UnauthorizedException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { Public } from '../http/access.decorators';
import { MetricsService } from './metrics.service';

/**
 * Prometheus text at /metrics (outside the API prefix); a bearer token when METRICS_TOKEN is set, which
 * production requires (config refuses to start without it). Start-up says which of the two applies.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController implements OnModuleInit {
  private readonly logger = new Logger(MetricsController.name);

  constructor(
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.metrics.token === undefined) {
      this.logger.warn(
        '/metrics is served without a token: set METRICS_TOKEN (required when NODE_ENV=production)',
      );
    } else {
      this.logger.log('/metrics requires "Authorization: Bearer <METRICS_TOKEN>"');
    }
  }

  @Public()
  @Get()
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const token = this.config.metrics.token;
    if (token !== undefined) {
      // Only the Bearer scheme, as Prometheus's `authorization` scrape option sends it.
      const given = Buffer.from(/^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '');
      const expected = Buffer.from(token);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new UnauthorizedException('A valid metrics token is required.');
      }
    }
    const body = await this.metrics.registry.metrics();
    void reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}
