import 'reflect-metadata';
import type { Logger } from 'pino';
import type { AppConfig } from './config/config';
import { ConfigValidationError } from './config/config';
import { loadConfigFromEnvironment } from './config/environment';

// Only the configuration is imported statically: with tracing on, the OpenTelemetry SDK has to start
// before anything requires pg, ioredis, http or Fastify (its instrumentations patch them as they load),
// so the rest of the service is imported after it. With tracing off the SDK is never loaded.

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfigFromEnvironment();
  const tracing = config.tracing.enabled
    ? (await import('./platform/tracing/tracing.sdk')).startTracing(config)
    : undefined;
  const { createApplication, preflight } = await import('./bootstrap');
  const { createRootLogger } = await import('./platform/logging/logger');
  const { servesHttp } = await import('./config/roles');
  const { checkPortFree, listenFailure } = await import('./platform/startup/preflight');
  const logger = createRootLogger(config);
  if (config.auth.jwtSecretGenerated) {
    logger.warn(
      'JWT_SECRET is not set: using a random secret, so tokens do not survive a restart (development only)',
    );
  }

  if (servesHttp(config)) {
    await checkPortFree(config);
  }
  const { created, migrations } = await preflight(config, logger);
  const app = await createApplication(config, logger);
  if (app.http) {
    await app.http.listen({ port: config.http.port, host: config.http.host }).catch((error: unknown) => {
      throw listenFailure(error, config);
    });
  }
  logger.info(
    {
      role: config.role,
      url: app.http ? `http://${config.http.host}:${config.http.port}` : undefined,
      databaseCreated: created,
      migrationsApplied: migrations,
      readyInMs: Math.round(performance.now() - startedAt),
    },
    app.http ? `ready: http://localhost:${config.http.port}/api/docs` : 'ready (worker)',
  );
  handleShutdown(app.context, config, logger, tracing?.shutdown);
}

/** SIGTERM/SIGINT: stop accepting, drain, close pools; a second signal or the deadline forces the exit. */
function handleShutdown(
  app: { close(): Promise<void> },
  config: AppConfig,
  logger: Logger,
  flushTraces: () => Promise<void> = () => Promise.resolve(),
): void {
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdown.timeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdown.timeoutMs);
    deadline.unref();
    app
      .close()
      .then(() => flushTraces())
      .then(
        () => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** The failures that explain themselves in one line (loaded only now: see the imports above). */
async function isExplained(error: unknown): Promise<boolean> {
  if (error instanceof ConfigValidationError) {
    return true;
  }
  const { StartupError } = await import('./platform/startup/preflight');
  const { JobHandlerCheckError } = await import('./platform/queue/job-handler.registry');
  return error instanceof StartupError || error instanceof JobHandlerCheckError;
}

main().catch(async (error: unknown) => {
  if (await isExplained(error)) {
    console.error(`async-order-processor: ${(error as Error).message}`);
  } else {
    console.error('async-order-processor: start-up failed:', error);
  }
  process.exit(1);
});
