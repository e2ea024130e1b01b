import {
  ForbiddenException,
  Injectable,
  Logger,
  OnModuleInit,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { IServerAdapter } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from '../../platform/http/bearer-token';
import { sendProblem, toProblem } from '../../platform/http/problem-details.filter';
import { currentContext } from '../../platform/http/request-context';
import { QueueRegistry } from '../../platform/queue/queue.registry';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { TokenService } from '../auth/token.service';
import { UserStandingCache } from '../auth/user-standing.cache';
import { cookieValue } from '../../platform/http/cookies';
import { BOARD_COOKIE, BOARD_PATH, QueueBoardSessions } from './queue-board.sessions';

const REDIS_DOWN = 'Board sessions cannot be checked right now; try again shortly.';

/**
 * Bull Board at /admin/queues (outside /api/v1), admins only: a Bearer access token, or the board
 * session cookie set by POST /api/v1/admin/queues/session. Mounted straight on Fastify, so Nest's
 * guard does not run here: this scope has its own onRequest check. DELETE /admin/queues/session sits
 * beside it, where the browser sends the cookie, and revokes that session.
 */
@Injectable()
export class QueueBoard implements OnModuleInit {
  private readonly logger = new Logger(QueueBoard.name);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly queues: QueueRegistry,
    private readonly tokens: TokenService,
    private readonly sessions: QueueBoardSessions,
    private readonly standing: UserStandingCache,
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
      scope.addHook('onSend', async (_request, reply, payload) => withCorrelationId(reply, payload));
      await scope.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
    });
    fastify.delete(`${BOARD_PATH}/session`, async (request, reply) => this.closeSession(request, reply));
    this.logger.log({ path: BOARD_PATH }, 'Bull Board mounted');
  }

  /** Signing out works with a session that is already revoked or expired: the answer is always 204. */
  private async closeSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const session = cookieValue(request.headers.cookie, BOARD_COOKIE);
    try {
      if (session) {
        await this.sessions.revoke(session);
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'board session revocation failed');
      return this.refuse(request, reply, new ServiceUnavailableException(REDIS_DOWN));
    }
    await reply.code(204).header('set-cookie', this.sessions.clearedCookie()).send();
  }

  private async authorize(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    let user: AuthenticatedUser | undefined;
    try {
      user = await this.userOf(request);
      // As on every admin route: a user demoted, disabled or logged out everywhere is refused at once,
      // and nothing is trusted while revocations cannot be received.
      const standing = user ? await this.standing.check(user, true) : 'ok';
      if (standing === 'unverifiable') {
        throw new Error('token revocations cannot be received');
      }
      user = standing === 'revoked' ? undefined : user;
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'board session check failed');
      return this.refuse(request, reply, new ServiceUnavailableException(REDIS_DOWN));
    }
    if (user?.role === 'admin') {
      return;
    }
    return this.refuse(
      request,
      reply,
      user
        ? new ForbiddenException('You do not have permission to do this.')
        : new UnauthorizedException(
            'Bull Board needs an admin: send "Authorization: Bearer <admin access token>", or open a browser session with POST /api/v1/admin/queues/session.',
          ),
    );
  }

  /** The same problem document (with the correlation id) as every API error. */
  private refuse(request: FastifyRequest, reply: FastifyReply, error: Error): FastifyReply {
    sendProblem(reply, toProblem(error, request.url));
    return reply;
  }

  private async userOf(request: FastifyRequest): Promise<AuthenticatedUser | undefined> {
    const token = bearerToken(request.headers.authorization);
    if (token !== undefined) {
      return this.tokens.verifyAccessToken(token);
    }
    const cookie = cookieValue(request.headers.cookie, BOARD_COOKIE);
    return cookie ? this.sessions.verify(cookie) : undefined;
  }
}

/**
 * The board answers its own errors as `{error: {key}, message?, details?}` (its UI reads the key): they
 * keep that shape, gain the correlation id every other error carries, and lose `details` (a stack trace).
 */
export function withCorrelationId(reply: FastifyReply, payload: unknown): unknown {
  const type = String(reply.getHeader('content-type') ?? '');
  if (reply.statusCode < 400 || typeof payload !== 'string' || !type.startsWith('application/json')) {
    return payload;
  }
  try {
    const body = JSON.parse(payload) as unknown;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return payload;
    }
    const { details: _stack, ...rest } = body as Record<string, unknown>;
    return JSON.stringify({ ...rest, correlationId: currentContext()?.correlationId });
  } catch {
    return payload;
  }
}
