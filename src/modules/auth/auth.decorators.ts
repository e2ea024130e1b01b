import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { UserRole } from '../../platform/http/access.decorators';

/** The caller, as proven by the access token. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  role: UserRole;
  /** The user's token version the access token was signed with (0 when absent). */
  tokenVersion?: number;
}

export type AuthenticatedRequest = FastifyRequest & { user?: AuthenticatedUser };

export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthenticatedUser | undefined => {
    return ctx.switchToHttp().getRequest<AuthenticatedRequest>().user;
  },
);
