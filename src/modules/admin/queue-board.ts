import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { IServerAdapter } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QueueRegistry } from '../../platform/queue/queue.registry';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { TokenService } from '../auth/token.service';
import { BOARD_COOKIE, BOARD_PATH, cookieValue, QueueBoardSessions } from './queue-board.sessions';

/**
 * Bull Board at /admin/queues (outside /api/v1), admins only: a Bearer access token, or the board
 * session cookie set by POST /api/v1/admin/queues/session. Mounted straight on Fastify, so Nest's
 * guard does not run here: this scope has its own onRequest check.
 */
@Injectable()
export class QueueBoard implements OnModuleInit {
  private readonly logger = new Logger(QueueBoard.name);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly queues: QueueRegistry,
    private readonly tokens: TokenService,
    private readonly sessions: QueueBoardSessions,
  ) {}

  onModuleInit(): void {
    const httpAdapter = this.adapterHost.httpAdapter;
    if (!httpAdapter) {
      return; // worker role: no HTTP
    }
    const fastify = httpAdapter.getInstance<FastifyInstance>();
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(BOARD_PATH);
    createBullBoard({
      queues: this.queues.all().map((queue) => new BullMQAdapter(queue)),
      // @bull-board/fastify pins its own copy of @bull-board/api: same shape, separate type declarations.
      serverAdapter: serverAdapter as unknown as IServerAdapter,
      options: { uiConfig: { boardTitle: 'async-order-processor' } },
    });
    void fastify.register(async (scope) => {
      scope.addHook('onRequest', async (request, reply) => this.authorize(request, reply));
      await scope.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
    });
    this.logger.log({ path: BOARD_PATH }, 'Bull Board mounted');
  }

  private async authorize(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const user = this.userOf(request);
    if (user?.role === 'admin') {
      return;
    }
    const status = user ? 403 : 401;
    await reply
      .code(status)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: status === 401 ? 'Unauthorized' : 'Forbidden',
        status,
        detail:
          status === 401
            ? 'Bull Board needs an admin: send "Authorization: Bearer <admin access token>", or open a browser session with POST /api/v1/admin/queues/session.'
            : 'You do not have permission to do this.',
        instance: request.url,
      });
  }

  private userOf(request: FastifyRequest): AuthenticatedUser | undefined {
    const header = request.headers.authorization;
    if (typeof header === 'string' && header.startsWith('Bearer ')) {
      return this.tokens.verifyAccessToken(header.slice(7).trim());
    }
    const cookie = cookieValue(request.headers.cookie, BOARD_COOKIE);
    return cookie ? this.sessions.verify(cookie) : undefined;
  }
}
