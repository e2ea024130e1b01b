import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ServiceUnavailableError } from '../../platform/http/domain-error';
import { bearerToken } from '../../platform/http/bearer-token';
import { enrichContext } from '../../platform/http/request-context';
import { AuthenticatedRequest, AuthenticatedUser } from './auth.decorators';
import { IS_PUBLIC, ROLES, UserRole } from '../../platform/http/access.decorators';
import { TokenService } from './token.service';
import { TokenStanding, UserStandingCache } from './user-standing.cache';

const IDENTIFIED = Symbol('auth:identified');

type IdentifiedRequest = AuthenticatedRequest & { [IDENTIFIED]?: { token?: string } };

/**
 * Verifies the Bearer token once per request (the rate limit and the auth guard both ask) and sets
 * `request.user`. Only a signature check: whether the user still stands behind the token (active,
 * same role, token version) is the guard's business, from a cache (UserStandingCache).
 */
export function identifyCaller(
  request: AuthenticatedRequest,
  tokens: TokenService,
): { token?: string; user?: AuthenticatedUser } {
  const marked = request as IdentifiedRequest;
  const known = marked[IDENTIFIED];
  if (known) {
    return { token: known.token, user: request.user };
  }
  const token = bearerToken(request.headers.authorization);
  const user = token ? tokens.verifyAccessToken(token) : undefined;
  marked[IDENTIFIED] = { token };
  if (user) {
    request.user = user;
    enrichContext({ userId: user.id });
  }
  return { token, user };
}

/**
 * Authentication is on for every route unless it says `@Public()`; `@Roles()` narrows it further.
 * A public route still learns who the caller is when a valid token comes along (and forgets a caller
 * whose token was revoked). A token counts only while its user is active, has the role it names and
 * has not logged out everywhere since it was signed; admin-only routes refuse (503) while that cannot
 * be known for sure.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly standing: UserStandingCache,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      return true;
    }
    const targets = [context.getHandler(), context.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const { token, user } = identifyCaller(request, this.tokens);
    const roles = this.reflector.getAllAndOverride<UserRole[] | undefined>(ROLES, targets);
    const adminOnly = roles !== undefined && !roles.includes('customer');
    const standing = user ? await this.standingOf(user, adminOnly && !isPublic) : undefined;
    if (standing === 'revoked') {
      request.user = undefined;
    }
    if (isPublic) {
      return true;
    }
    if (!user || standing === 'revoked') {
      throw new UnauthorizedException(
        token ? 'The access token is invalid, expired or revoked.' : 'Authentication is required.',
      );
    }
    if (roles && !roles.includes(user.role)) {
      throw new ForbiddenException('You do not have permission to do this.');
    }
    if (standing === 'unverifiable') {
      throw new ServiceUnavailableError(
        'Admin routes are unavailable while token revocations cannot be received (Redis is unreachable).',
      );
    }
    return true;
  }

  private async standingOf(user: AuthenticatedUser, strict: boolean): Promise<TokenStanding> {
    try {
      return await this.standing.check(user, strict);
    } catch {
      throw new ServiceUnavailableError('The access token cannot be checked right now; try again shortly.');
    }
  }
}
