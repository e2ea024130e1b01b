import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { BadRequestError, ConflictError, NotFoundError } from '../../platform/http/domain-error';
import { Page } from '../../platform/http/pagination';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { hashPassword } from '../auth/password-hasher';
import { RefreshTokenRepository } from '../auth/refresh-token.repository';
import { UserStandingCache } from '../auth/user-standing.cache';
import {
  ADMIN_ONLY_FIELDS,
  CreateUserDto,
  ListUsersQueryDto,
  toUserResponse,
  UpdateProfileDto,
  UpdateUserDto,
  UserResponseDto,
} from './users.dto';
import { UsersRepository } from './users.repository';

function isUniqueViolation(error: unknown): boolean {
  return error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505';
}

/**
 * Profiles and user administration. A customer reaches only their own record: any other id answers
 * 404, exactly like an id that does not exist, so ids of other users cannot be probed.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokenRepository,
    private readonly standings: UserStandingCache,
  ) {}

  async get(caller: AuthenticatedUser, id: string): Promise<UserResponseDto> {
    const user = this.mayAccess(caller, id) ? await this.users.findById(id) : undefined;
    if (!user) {
      throw new NotFoundError('User not found.');
    }
    return toUserResponse(user);
  }

  async list(query: ListUsersQueryDto): Promise<Page<UserResponseDto>> {
    const page = await this.users.list({
      search: query.search?.trim(),
      isActive: query.isActive,
      sortBy: query.sortBy,
      sortOrder: query.sortOrder,
      page: query.page,
      limit: query.limit,
      cursor: query.cursor,
    });
    return { data: page.data.map(toUserResponse), meta: page.meta };
  }

  async create(input: CreateUserDto): Promise<UserResponseDto> {
    const passwordHash = await hashPassword(input.password);
    const user = await this.dataSource.transaction((tx) =>
      this.users.insert(tx, {
        email: input.email,
        passwordHash,
        firstName: input.firstName,
        lastName: input.lastName,
        role: input.role,
        isActive: input.isActive,
        phone: input.phone,
        preferredLanguage: input.preferredLanguage,
      }),
    );
    if (!user) {
      throw new ConflictError('An account with this email already exists.', 'EMAIL_TAKEN');
    }
    return toUserResponse(user);
  }

  updateProfile(caller: AuthenticatedUser, changes: UpdateProfileDto): Promise<UserResponseDto> {
    return this.apply(caller.id, changes);
  }

  async update(caller: AuthenticatedUser, id: string, changes: UpdateUserDto): Promise<UserResponseDto> {
    if (!this.mayAccess(caller, id)) {
      throw new NotFoundError('User not found.');
    }
    if (caller.role !== 'admin') {
      const forbidden = ADMIN_ONLY_FIELDS.filter((field) => changes[field] !== undefined);
      if (forbidden.length > 0) {
        throw new BadRequestError(
          `property ${forbidden[0]} should not exist`,
          forbidden.map((field) => ({ field, message: `property ${field} should not exist` })),
        );
      }
    }
    return this.apply(id, changes);
  }

  /** Soft delete: the row stays for the orders that point at it; every session of the user ends. */
  async remove(caller: AuthenticatedUser, id: string): Promise<void> {
    if (caller.id === id) {
      throw new ConflictError('Admins cannot delete their own account.', 'CANNOT_DELETE_SELF');
    }
    const deleted = await this.dataSource.transaction(async (tx) => {
      await this.users.lockAdminRoster(tx);
      const found = await this.users.softDelete(tx, id);
      if (found) {
        await this.assertAnActiveAdminRemains(tx);
        await this.refreshTokens.revokeAllOfUser(tx, id);
      }
      return found;
    });
    if (!deleted) {
      throw new NotFoundError('User not found.');
    }
    await this.standings.userChanged(id);
  }

  /**
   * Checked after the change, under the admin-roster lock, inside its transaction: throwing rolls the
   * change back. A restart does not bring an admin back (the seed only creates a missing email).
   */
  private async assertAnActiveAdminRemains(tx: EntityManager): Promise<void> {
    if ((await this.users.countActiveAdmins(tx)) === 0) {
      throw new ConflictError(
        'This change would leave no active admin: promote or activate another admin first.',
        'LAST_ADMIN',
      );
    }
  }

  private mayAccess(caller: AuthenticatedUser, id: string): boolean {
    return caller.role === 'admin' || caller.id === id;
  }

  private async apply(id: string, changes: UpdateUserDto): Promise<UserResponseDto> {
    try {
      const mayRemoveAnAdmin =
        (changes.role !== undefined && changes.role !== 'admin') || changes.isActive === false;
      const user = await this.dataSource.transaction(async (tx) => {
        if (mayRemoveAnAdmin) {
          await this.users.lockAdminRoster(tx);
        }
        const updated = await this.users.update(tx, id, changes);
        if (updated && mayRemoveAnAdmin) {
          await this.assertAnActiveAdminRemains(tx);
        }
        if (updated && changes.isActive === false) {
          await this.refreshTokens.revokeAllOfUser(tx, id);
        }
        return updated;
      });
      if (!user) {
        throw new NotFoundError('User not found.');
      }
      // Deactivation or a role change must reach every API process's view of this user's tokens.
      if (changes.isActive !== undefined || changes.role !== undefined) {
        await this.standings.userChanged(id);
      }
      return toUserResponse(user);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError('An account with this email already exists.', 'EMAIL_TAKEN');
      }
      throw error;
    }
  }
}
