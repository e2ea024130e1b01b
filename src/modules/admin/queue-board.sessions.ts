import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { JWT_ISSUER } from '../auth/token.service';

export const BOARD_PATH = '/admin/queues';
export const BOARD_COOKIE = 'aop_board_session';
export const BOARD_SESSION_TTL_SECONDS = 15 * 60;
const BOARD_AUDIENCE = 'async-order-processor-queue-board';

/**
 * Short-lived sessions for Bull Board in a browser, which cannot send a Bearer header: a JWT of its
 * own audience (an API access token is not accepted as a cookie, and a board cookie is not an API token).
 */
@Injectable()
export class QueueBoardSessions {
  private readonly jwt: JwtService;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    this.jwt = new JwtService({ secret: config.auth.jwtSecret });
  }

  issue(user: AuthenticatedUser): string {
    return this.jwt.sign(
      { sub: user.id, email: user.email, role: user.role },
      {
        algorithm: 'HS256',
        expiresIn: BOARD_SESSION_TTL_SECONDS,
        issuer: JWT_ISSUER,
        audience: BOARD_AUDIENCE,
      },
    );
  }

  verify(token: string): AuthenticatedUser | undefined {
    try {
      const claims = this.jwt.verify<{ sub: string; email: string; role: string }>(token, {
        algorithms: ['HS256'],
        issuer: JWT_ISSUER,
        audience: BOARD_AUDIENCE,
      });
      return claims.role === 'admin' ? { id: claims.sub, email: claims.email, role: 'admin' } : undefined;
    } catch {
      return undefined;
    }
  }

  /** HttpOnly, SameSite=Strict (no cross-site use of the board's actions), scoped to the board's path. */
  cookie(token: string): string {
    const secure = this.config.env === 'production' ? '; Secure' : '';
    return `${BOARD_COOKIE}=${token}; Path=${BOARD_PATH}; Max-Age=${BOARD_SESSION_TTL_SECONDS}; HttpOnly; SameSite=Strict${secure}`;
  }

  clearedCookie(): string {
    return `${BOARD_COOKIE}=; Path=${BOARD_PATH}; Max-Age=0; HttpOnly; SameSite=Strict`;
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      return rest.join('=');
    }
  }
  return undefined;
}
