import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { enrichContext } from '../../platform/http/request-context';
import { AuthenticatedRequest, AuthenticatedUser } from './auth.decorators';
import { IS_PUBLIC, ROLES, UserRole } from '../../platform/http/access.decorators';
import { TokenService } from './token.service';

const IDENTIFIED = Symbol('auth:identified');

type IdentifiedRequest = AuthenticatedRequest & { [IDENTIFIED]?: { token?: string } };

/**
 * Verifies the Bearer token once per request (the rate limit and the auth guard both ask) and sets
 * `request.user`. Only a signature check: no database hit, so every request stays cheap.
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
  const header = request.headers.authorization;
  const token =
    typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
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
 * A public route still learns who the caller is when a valid token comes along.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') {
      return true;
    }
    const targets = [context.getHandler(), context.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const { token, user } = identifyCaller(request, this.tokens);
    if (isPublic) {
      return true;
    }
    if (!user) {
      throw new UnauthorizedException(
        token ? 'The access token is invalid or expired.' : 'Authentication is required.',
      );
    }
    const roles = this.reflector.getAllAndOverride<UserRole[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(user.role)) {
      throw new ForbiddenException('You do not have permission to do this.');
    }
    return true;
  }
}
