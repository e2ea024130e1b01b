import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { RedisService } from '../../platform/redis/redis.service';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { JWT_ISSUER } from '../auth/token.service';

export const BOARD_PATH = '/admin/queues';
export const BOARD_COOKIE = 'aop_board_session';
export const BOARD_SESSION_TTL_SECONDS = 15 * 60;
const BOARD_AUDIENCE = 'async-order-processor-queue-board';

interface BoardClaims {
  sub: string;
  email: string;
  role: string;
  jti: string;
  /** Milliseconds, unlike `iat`: a session opened in the same second as a sign-out must survive it. */
  issuedAtMs: number;
  /** The token version of the access token that opened the session (absent in older sessions: 0). */
  tokenVersion?: number;
  exp: number;
}

/**
 * Short-lived sessions for Bull Board in a browser, which cannot send a Bearer header: a JWT of its
 * own audience (an API access token is not accepted as a cookie, and a board cookie is not an API token).
 * Closing a session revokes it in Redis, so the old cookie is refused by every API process; revocations
 * expire with the sessions they name.
 */
@Injectable()
export class QueueBoardSessions {
  private readonly jwt: JwtService;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {
    this.jwt = new JwtService({ secret: config.auth.jwtSecret });
  }

  issue(user: AuthenticatedUser): string {
    return this.jwt.sign(
      {
        sub: user.id,
        email: user.email,
        role: user.role,
        jti: randomUUID(),
        issuedAtMs: Date.now(),
        tokenVersion: user.tokenVersion ?? 0,
      },
      {
        algorithm: 'HS256',
        expiresIn: BOARD_SESSION_TTL_SECONDS,
        issuer: JWT_ISSUER,
        audience: BOARD_AUDIENCE,
      },
    );
  }

  /** The admin a live session cookie proves; rejects (so the caller answers 503) while Redis is down. */
  async verify(token: string): Promise<AuthenticatedUser | undefined> {
    const claims = this.decode(token);
    if (claims?.role !== 'admin') {
      return undefined;
    }
    const [revoked, revokedBefore] = await this.redis.client.mget(
      this.revokedKey(claims.jti),
      this.revokedBeforeKey(claims.sub),
    );
    if (revoked !== null || (revokedBefore !== null && claims.issuedAtMs <= Number(revokedBefore))) {
      return undefined;
    }
    return { id: claims.sub, email: claims.email, role: 'admin', tokenVersion: claims.tokenVersion ?? 0 };
  }

  /** Ends the session the cookie holds; a token that is not a live session needs no revocation. */
  async revoke(token: string): Promise<void> {
    const claims = this.decode(token);
    const secondsLeft = claims ? claims.exp - Math.floor(Date.now() / 1000) : 0;
    if (claims && secondsLeft > 0) {
      await this.redis.client.set(this.revokedKey(claims.jti), '1', 'EX', secondsLeft);
    }
  }

  /** Ends every board session the user opened until now (their cookies need not be at hand). */
  async revokeAllOf(userId: string): Promise<void> {
    await this.redis.client.set(
      this.revokedBeforeKey(userId),
      String(Date.now()),
      'EX',
      BOARD_SESSION_TTL_SECONDS,
    );
  }

  /** HttpOnly, SameSite=Strict (no cross-site use of the board's actions), scoped to the board's path. */
  cookie(token: string): string {
    const secure = this.config.env === 'production' ? '; Secure' : '';
    return `${BOARD_COOKIE}=${token}; Path=${BOARD_PATH}; Max-Age=${BOARD_SESSION_TTL_SECONDS}; HttpOnly; SameSite=Strict${secure}`;
  }

  clearedCookie(): string {
    return `${BOARD_COOKIE}=; Path=${BOARD_PATH}; Max-Age=0; HttpOnly; SameSite=Strict`;
  }

  private decode(token: string): BoardClaims | undefined {
    try {
      const claims = this.jwt.verify<BoardClaims>(token, {
        algorithms: ['HS256'],
        issuer: JWT_ISSUER,
        audience: BOARD_AUDIENCE,
      });
      return typeof claims.jti === 'string' &&
        typeof claims.issuedAtMs === 'number' &&
        typeof claims.exp === 'number'
        ? claims
        : undefined;
    } catch {
      return undefined;
    }
  }

  private revokedKey(jti: string): string {
    return this.redis.key('board-session', 'revoked', jti);
  }

  private revokedBeforeKey(userId: string): string {
    return this.redis.key('board-session', 'revoked-before', userId);
  }
}
