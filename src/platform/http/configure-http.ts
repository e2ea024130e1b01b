import helmet from '@fastify/helmet';
import cors from '@fastify/cors';
import { Logger, RequestMethod } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { AppConfig } from '../../config/config';
import { instrumentHttp } from '../metrics/http-metrics';
import { MetricsService } from '../metrics/metrics.service';
import { ProblemDetailsFilter } from './problem-details.filter';
import { correlationIdFrom, runWithContext } from './request-context';
import { createValidationPipe } from './validation';

export const API_PREFIX = 'api/v1';

/** Routes served outside `/api/v1`, like `/metrics` and `/admin/queues`. */
export const UNPREFIXED_ROUTES = [{ path: 'metrics', method: RequestMethod.GET }];

/**
 * Everything the HTTP edge does before a controller runs: correlation id, security headers, CORS,
 * request metrics and logging, problem details for every error (Fastify's own errors, such as malformed JSON or a
 * body over the limit, reach the same filter through Nest's exception layer), validation, docs.
 */
export async function configureHttp(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  const log = new Logger('HTTP');
  instrumentHttp(fastify, app.get(MetricsService).registry);

  fastify.addHook('onRequest', (request, reply, done) => {
    const correlationId = correlationIdFrom(
      request.headers['x-correlation-id'] ?? request.headers['x-request-id'],
    );
    void reply.header('x-correlation-id', correlationId);
    runWithContext({ correlationId }, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    log.log(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
    done();
  });

  await app.register(helmet, {
    // Swagger UI needs inline scripts and styles; everything else keeps helmet's strict defaults.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
      },
    },
  });
  await app.register(cors, {
    origin: config.http.corsOrigins,
    exposedHeaders: ['x-correlation-id', 'location', 'idempotent-replayed', 'retry-after'],
  });

  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_ROUTES });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('async-order-processor')
      .setDescription(
        'Orders accepted in milliseconds, processed by resilient background sagas. Errors are RFC 9457 problem details.',
      )
      .setVersion('1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/docs-json',
    useGlobalPrefix: false,
  });
}
