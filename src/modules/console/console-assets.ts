import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';

export const CONSOLE_PATH = '/console';

/**
 * Stricter than the rest of the API's (Swagger UI needs inline script): scripts, styles and requests only from
 * this origin, no inline code at all, DOM sinks only through Trusted Types (the console never writes HTML),
 * never framed.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types',
].join('; ');

/**
 * The operator console (docs/console.md): static ES modules, HTML and CSS from `public/` beside this file
 * (copied to dist by `npm run build`), served at /console/ with the console's own Content-Security-Policy.
 * The pages call the API with a Bearer token like any client; nothing here reads data.
 */
@Injectable()
export class ConsoleAssets implements OnModuleInit {
  private readonly logger = new Logger(ConsoleAssets.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const httpAdapter = this.adapterHost.httpAdapter;
    if (!httpAdapter) {
      return; // worker role: no HTTP
    }
    const fastify = httpAdapter.getInstance<FastifyInstance>();
    void fastify.register(async (scope) => {
      scope.addHook('onSend', async (request, reply, payload) => {
        const https = String(request.protocol).toLowerCase() === 'https';
        void reply.header(
          'content-security-policy',
          https ? `${CONSOLE_CSP}; upgrade-insecure-requests` : CONSOLE_CSP,
        );
        void reply.header('cache-control', 'no-cache');
        void reply.header('referrer-policy', 'no-referrer');
        return payload;
      });
      await scope.register(fastifyStatic, {
        root: join(__dirname, 'public'),
        prefix: `${CONSOLE_PATH}/`,
        decorateReply: false,
        index: 'index.html',
        redirect: true,
        wildcard: false,
      });
    });
    this.logger.log({ path: CONSOLE_PATH }, 'operator console mounted');
  }
}
