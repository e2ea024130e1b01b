import { SetMetadata } from '@nestjs/common';

/**
 * Who may call a route, as metadata on it. The routes of every layer declare it (health and metrics
 * too), and the auth module's guard enforces it, so these live here and not in the auth module.
 */
export const USER_ROLES = ['customer', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const IS_PUBLIC = 'auth:public';
export const ROLES = 'auth:roles';

/** Opts a route (or controller) out of the authentication that is on by default. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Restricts a route (or controller) to the given roles. */
export const Roles = (...roles: UserRole[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES, roles);
