import { Injectable } from '@nestjs/common';
import { keysetPage } from '../../platform/database/keyset-page';
import { ReadReplicas } from '../../platform/database/read-replicas';
import { Page } from '../../platform/http/pagination';
import { DataSource, EntityManager } from 'typeorm';
import { UserRole } from '../../platform/http/access.decorators';

/** A user as the application sees it. The password hash is deliberately not part of it. */
export interface UserRecord {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  role: UserRole;
  isActive: boolean;
  phone: string | null;
  preferredLanguage: 'en' | 'es';
  lastLoginAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Signed into access tokens; raised by "log out everywhere" (never shown to clients). */
  tokenVersion: number;
}

export interface UserCredentials {
  id: string;
  email: string;
  role: UserRole;
  passwordHash: string;
  canLogIn: boolean;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  firstName: string;
  lastName: string;
  role?: UserRole;
  isActive?: boolean;
  phone?: string | null;
  preferredLanguage?: 'en' | 'es';
}

export type UserChanges = Partial<
  Pick<UserRecord, 'email' | 'firstName' | 'lastName' | 'role' | 'isActive' | 'phone' | 'preferredLanguage'>
>;

export const USER_SORT_COLUMNS = {
  createdAt: 'created_at',
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
  lastLoginAt: 'last_login_at',
} as const;

export type UserSortField = keyof typeof USER_SORT_COLUMNS;

export interface UserListFilter {
  search?: string;
  isActive?: boolean;
  sortBy: UserSortField;
  sortOrder: 'asc' | 'desc';
  page: number;
  limit: number;
  cursor?: string;
}

const COLUMNS = `id, email, first_name AS "firstName", last_name AS "lastName", role, is_active AS "isActive",
  phone, preferred_language AS "preferredLanguage", last_login_at AS "lastLoginAt",
  created_at AS "createdAt", updated_at AS "updatedAt", token_version AS "tokenVersion"`;

const CHANGE_COLUMNS: Record<keyof UserChanges, string> = {
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
  role: 'role',
  isActive: 'is_active',
  phone: 'phone',
  preferredLanguage: 'preferred_language',
};

/** Lean SQL over `users`. Soft-deleted users (deleted_at set) are invisible to every read but login's. */
@Injectable()
export class UsersRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly replicas: ReadReplicas,
  ) {}

  /** Undefined when the email is taken: the unique index decides, not a lookup before the insert. */
  async insert(tx: EntityManager, user: NewUser): Promise<UserRecord | undefined> {
    const rows = await tx.query<UserRecord[]>(
      `INSERT INTO users (email, password_hash, first_name, last_name, role, is_active, phone, preferred_language)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (email) DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        user.email,
        user.passwordHash,
        user.firstName,
        user.lastName,
        user.role ?? 'customer',
        user.isActive ?? true,
        user.phone ?? null,
        user.preferredLanguage ?? 'en',
      ],
    );
    return rows[0];
  }

  async findById(id: string, tx: EntityManager = this.dataSource.manager): Promise<UserRecord | undefined> {
    const rows = await tx.query<UserRecord[]>(
      `SELECT ${COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    return rows[0];
  }

  async findCredentialsByEmail(email: string): Promise<UserCredentials | undefined> {
    const rows = await this.dataSource.query<UserCredentials[]>(
      `SELECT id, email, role, password_hash AS "passwordHash", (is_active AND deleted_at IS NULL) AS "canLogIn"
       FROM users WHERE email = $1`,
      [email],
    );
    return rows[0];
  }

  /** Stamps the login (and stores a rehashed password when given); undefined if the user just went away. */
  async recordLogin(
    tx: EntityManager,
    id: string,
    newPasswordHash?: string,
  ): Promise<UserRecord | undefined> {
    const rows = await tx.query<[UserRecord[], number]>(
      `UPDATE users SET last_login_at = now(), password_hash = coalesce($2, password_hash)
       WHERE id = $1 AND is_active AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [id, newPasswordHash ?? null],
    );
    return rows[0][0];
  }

  /** Keyset pages (`cursor`) follow creation time; offset pages any sort (platform/database/keyset-page.ts). */
  async list(filter: UserListFilter): Promise<Page<UserRecord>> {
    // An admin list tolerates staleness: a fresh replica answers when there is one.
    const db = await this.replicas.reader();
    const conditions = ['deleted_at IS NULL'];
    const params: unknown[] = [];
    if (filter.search !== undefined && filter.search !== '') {
      params.push(`%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      // Same expression as users_search_trgm_idx, so the trigram index serves it.
      conditions.push(`(email || ' ' || first_name || ' ' || last_name) ILIKE $${params.length}`);
    }
    if (filter.isActive !== undefined) {
      params.push(filter.isActive);
      conditions.push(`is_active = $${params.length}`);
    }
    const direction = filter.sortOrder === 'asc' ? 'ASC' : 'DESC';
    const byCreation = filter.sortBy === 'createdAt';
    return keysetPage<UserRecord>(
      db,
      {
        select: COLUMNS,
        from: 'users',
        where: conditions,
        params,
        keyset: {
          createdAt: 'created_at',
          id: 'id',
          createdAtOrder: byCreation ? direction : 'DESC',
          idOrder: 'ASC',
        },
        orderBy: byCreation ? undefined : `${USER_SORT_COLUMNS[filter.sortBy]} ${direction} NULLS LAST, id`,
      },
      filter,
    );
  }

  /**
   * Applies only the given fields. Undefined when the user does not exist (or is deleted); throws the
   * driver's unique violation (23505) when a new email is taken.
   */
  async update(tx: EntityManager, id: string, changes: UserChanges): Promise<UserRecord | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [field, column] of Object.entries(CHANGE_COLUMNS) as [keyof UserChanges, string][]) {
      if (changes[field] !== undefined) {
        params.push(changes[field]);
        sets.push(`${column} = $${params.length}`);
      }
    }
    if (sets.length === 0) {
      return this.findById(id, tx);
    }
    const rows = await tx.query<[UserRecord[], number]>(
      `UPDATE users SET ${sets.join(', ')}, updated_at = now()
       WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      params,
    );
    return rows[0][0];
  }

  /**
   * Serialises every change that could take away an active admin (demote, deactivate, delete) until
   * the transaction ends, so two admins demoting each other cannot both see the other still active.
   */
  async lockAdminRoster(tx: EntityManager): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('users:active-admins', 0))`);
  }

  async countActiveAdmins(tx: EntityManager): Promise<number> {
    const [{ count }] = await tx.query<[{ count: number }]>(
      `SELECT count(*)::int AS count FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL`,
    );
    return count;
  }

  /** Marks the user deleted and inactive; their orders keep pointing at the row. False when already gone. */
  async softDelete(tx: EntityManager, id: string): Promise<boolean> {
    const rows = await tx.query<[unknown[], number]>(
      `UPDATE users SET deleted_at = now(), is_active = false, updated_at = now()
       WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
      [id],
    );
    return rows[1] > 0;
  }
}
