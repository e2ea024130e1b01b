import 'reflect-metadata';
import { Logger } from 'pino';
import { createApplication, preflight } from './bootstrap';
import { AppConfig, ConfigValidationError } from './config/config';
import { loadConfigFromEnvironment } from './config/environment';
import { createRootLogger } from './platform/logging/logger';
import { JobHandlerCheckError } from './platform/queue/job-handler.registry';
import { servesHttp } from './config/roles';
import { checkPortFree, listenFailure, StartupError } from './platform/startup/preflight';

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfigFromEnvironment();
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
  handleShutdown(app.context, config, logger);
}

/** SIGTERM/SIGINT: stop accepting, drain, close pools; a second signal or the deadline forces the exit. */
function handleShutdown(app: { close(): Promise<void> }, config: AppConfig, logger: Logger): void {
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
    app.close().then(
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

main().catch((error: unknown) => {
  if (
    error instanceof ConfigValidationError ||
    error instanceof StartupError ||
    error instanceof JobHandlerCheckError
  ) {
    console.error(`async-order-processor: ${error.message}`);
  } else {
    console.error('async-order-processor: start-up failed:', error);
  }
  process.exit(1);
});
