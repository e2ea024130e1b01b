import { DynamicModule, INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/config';
import { servesHttp } from './config/roles';
import { createDataSource } from './platform/database/data-source';
import { runMigrations } from './platform/database/database-bootstrap';
import { seedDatabase } from './seed';
import { addWebhooksToDocument } from './modules/webhooks/webhooks.openapi';
import { configureHttp } from './platform/http/configure-http';
import { sendProblem, toProblem } from './platform/http/problem-details.filter';
import { PinoNestLogger } from './platform/logging/logger';
import { checkPostgres, checkRedis } from './platform/startup/preflight';

export interface Application {
  context: INestApplicationContext;
  /** Present for the `api` and `all` roles. */
  http?: NestFastifyApplication;
}

/** Creates the database if needed, migrates it and seeds it. Safe to run from several processes at once. */
export async function prepareDatabase(
  config: AppConfig,
  logger?: Logger,
): Promise<{ created: boolean; migrations: string[] }> {
  const created = await checkPostgres(config);
  // The direct connection: the migration lock is a session advisory lock, which a transaction pooler breaks.
  const dataSource = await createDataSource(
    { database: { ...config.database, url: config.database.directUrl, poolSize: 2 } },
    'aop-migrate',
  ).initialize();
  try {
    const migrations = await runMigrations(dataSource);
    await seedDatabase(dataSource, config, (message) => logger?.info({ context: 'Seed' }, message));
    return { created, migrations };
  } finally {
    await dataSource.destroy();
  }
}

export async function preflight(
  config: AppConfig,
  logger?: Logger,
): Promise<{ created: boolean; migrations: string[] }> {
  await checkRedis(config);
  return prepareDatabase(config, logger);
}

/** Builds the Nest application for the configured role, without listening yet. */
export async function createApplication(
  config: AppConfig,
  logger: Logger,
  extraModules: (Type | DynamicModule)[] = [],
): Promise<Application> {
  const nestLogger = new PinoNestLogger(logger.child({ name: 'nest' }));
  const module = AppModule.forRoot(config, logger);
  module.imports = [...(module.imports ?? []), ...extraModules];
  if (!servesHttp(config)) {
    const context = await NestFactory.createApplicationContext(module, { logger: nestLogger });
    return { context };
  }
  const http = await NestFactory.create<NestFastifyApplication>(
    module,
    new FastifyAdapter({
      bodyLimit: config.http.bodyLimitBytes,
      trustProxy: config.http.trustProxy,
      forceCloseConnections: 'idle',
      // Errors the router raises before Nest sees the request (a bad URL encoding, a 5 KB path
      // parameter) get the same problem document as every other error, not Fastify's own JSON.
      frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
        sendProblem(reply, toProblem(error, request.url.slice(0, 256))),
    }),
    // rawBody keeps the exact bytes beside the parsed JSON: the payment webhook's HMAC is over them.
    { logger: nestLogger, rawBody: true },
  );
  await configureHttp(http, config, addWebhooksToDocument);
  await http.init();
  return { context: http, http };
}
