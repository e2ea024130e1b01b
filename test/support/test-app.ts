import { once } from 'node:events';
import { AddressInfo, createServer } from 'node:net';
import { DynamicModule, Type } from '@nestjs/common';
import pino, { Logger } from 'pino';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Application, createApplication } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/config';
import { AuthenticatedUser } from '../../src/modules/auth/auth.decorators';
import { TokenService } from '../../src/modules/auth/token.service';

export interface TestApp {
  config: AppConfig;
  app: Application;
  /** supertest bound to the listening server: real HTTP through Fastify and Nest. */
  http: () => request.Agent;
  url: string;
  dataSource: DataSource;
  get<T>(token: Type<T> | string | symbol): T;
  /**
   * An access token for `user`. Tokens are honoured only for a user that exists and is active with that
   * role (revocation), so a row with this id is created when there is none.
   */
  tokenFor(user: AuthenticatedUser): Promise<string>;
  close(): Promise<void>;
}

/**
 * Boots the real application (role `api` unless overridden) on a free port against this run's
 * database and Redis. `env` overrides variables for this app only; `options.logger` replaces the
 * silent default logger (a test that reads the log lines passes one writing to memory).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  extraModules: (Type | DynamicModule)[] = [],
  options: { logger?: Logger } = {},
): Promise<TestApp> {
  // A free port chosen up front, so settings derived from PORT (the mock gateway's webhook URL) point here.
  const port = env.PORT ?? String(await freePort());
  const config = loadConfig({ ...process.env, ROLE: 'api', PORT: port, ...env });
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const app = await createApplication(config, logger, extraModules);
  let url = '';
  if (app.http) {
    await app.http.listen({ port: config.http.port, host: '127.0.0.1' });
    url = await app.http.getUrl();
    url = url.replace('[::1]', '127.0.0.1');
  }
  const tokens = app.context.get(TokenService);
  return {
    config,
    app,
    http: () => request.agent(url),
    url,
    dataSource: app.context.get(DataSource),
    get: <T>(token: Type<T> | string | symbol) => app.context.get<T>(token),
    tokenFor: async (user) => {
      await app.context.get(DataSource).query(
        `INSERT INTO users (id, email, password_hash, first_name, last_name, role)
         VALUES ($1, $2, 'not-a-hash', 'Token', 'Holder', $3) ON CONFLICT (id) DO NOTHING`,
        [user.id, `token-holder-${user.id}@example.test`, user.role],
      );
      return tokens.signAccessToken(user);
    },
    close: () => app.context.close(),
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
