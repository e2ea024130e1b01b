import helmet from '@fastify/helmet';
import cors from '@fastify/cors';
import { Logger, RequestMethod } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance, RawServerDefault } from 'fastify';
import { AppConfig } from '../../config/config';
import { instrumentHttp } from '../metrics/http-metrics';
import { MetricsService } from '../metrics/metrics.service';
import { DomainError } from './domain-error';
import { exceedsJsonDepth } from './json-depth';
import { ProblemDetailsFilter } from './problem-details.filter';
import { correlationIdFrom, runWithContext } from './request-context';
import { createValidationPipe } from './validation';

export const API_PREFIX = 'api/v1';

/** Helmet's own default: a year, subdomains included. */
const HSTS = 'max-age=31536000; includeSubDomains';

/** Routes served outside `/api/v1`, like `/metrics` and `/admin/queues`. */
export const UNPREFIXED_ROUTES = [{ path: 'metrics', method: RequestMethod.GET }];

/**
 * Everything the HTTP edge does before a controller runs: correlation id, security headers, CORS,
 * request metrics and logging, problem details for every error (Fastify's own errors, such as malformed JSON or a
 * body over the limit, reach the same filter through Nest's exception layer), validation, docs.
 */
export async function configureHttp(
  app: NestFastifyApplication,
  config: AppConfig,
  /** Additions the generator cannot make (the OpenAPI 3.1 `webhooks` section), from the composition root. */
  extendDocument: (document: OpenAPIObject) => OpenAPIObject = (document) => document,
): Promise<void> {
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

  registerBodyParsers(app, fastify, config);

  await app.register(helmet, {
    // HSTS and upgrade-insecure-requests are added below, over https only.
    hsts: false,
    // Swagger UI needs inline scripts and styles; everything else keeps helmet's strict defaults.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
        upgradeInsecureRequests: null,
      },
    },
  });
  // Over plain http they sent the browser to an https that is not there (Swagger UI loaded blank from any
  // host but localhost). `protocol` believes X-Forwarded-Proto only with TRUST_PROXY.
  fastify.addHook('onRequest', (request, reply, done) => {
    if (String(request.protocol).toLowerCase() === 'https') {
      const csp = reply.getHeader('content-security-policy');
      void reply.header('strict-transport-security', HSTS);
      void reply.header('content-security-policy', `${String(csp)};upgrade-insecure-requests`);
    }
    done();
  });
  await app.register(cors, {
    origin: config.http.corsOrigins,
    exposedHeaders: ['x-correlation-id', 'location', 'idempotent-replayed', 'retry-after'],
  });

  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_ROUTES });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());

  const document = extendDocument(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('async-order-processor')
        .setDescription(
          'Orders accepted in milliseconds, processed by resilient background sagas. Errors are RFC 9457 problem details.',
        )
        .setVersion('1.0')
        .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
        .build(),
    ),
  );
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/docs-json',
    useGlobalPrefix: false,
  });
}

export class JsonTooDeepError extends DomainError {
  readonly code = 'JSON_TOO_DEEP';
  readonly status = 400;

  constructor(maxDepth: number) {
    super(`The JSON body nests arrays or objects deeper than ${maxDepth} levels.`);
  }
}

/**
 * JSON only. Its parser refuses a body nested deeper than BODY_MAX_DEPTH in one scan of the raw bytes
 * before JSON.parse: validation walks bodies recursively, so a deep one overflowed the stack (a slow 500).
 * Registering it here also keeps Nest from adding its form parser; Fastify's text/plain one goes too, so a
 * JSON body sent as a form or text is a 415, not a string the validator turns into a field per property.
 */
function registerBodyParsers(app: NestFastifyApplication, fastify: FastifyInstance, config: AppConfig): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const maxDepth = config.http.bodyMaxDepth;
  app.useBodyParser<RawServerDefault>(
    'application/json',
    { bodyLimit: config.http.bodyLimitBytes },
    (request, body, done) => {
      if (exceedsJsonDepth(body, maxDepth)) {
        done(new JsonTooDeepError(maxDepth), undefined);
        return;
      }
      void parseJson(request, body.toString(), done);
    },
  );
  fastify.removeContentTypeParser('text/plain');
}
