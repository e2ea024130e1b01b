import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuthenticatedUser } from '../../src/modules/auth/auth.decorators';
import { UserRole } from '../../src/platform/http/access.decorators';
import { hashPassword } from '../../src/modules/auth/password-hasher';

export const DEFAULT_PASSWORD = 'Password123!';

export interface UserOverrides {
  email?: string;
  password?: string;
  firstName?: string;
  lastName?: string;
  role?: UserRole;
  isActive?: boolean;
  phone?: string | null;
  preferredLanguage?: 'en' | 'es';
  deletedAt?: Date | null;
}

/** A user row as the factory made it, with the plain password so a test can log in. */
export interface TestUser extends AuthenticatedUser {
  password: string;
  firstName: string;
  lastName: string;
  isActive: boolean;
}

// argon2 is deliberately slow: the default password is hashed once per test file, not once per user.
let defaultHash: Promise<string> | undefined;

function hashFor(password: string): Promise<string> {
  if (password !== DEFAULT_PASSWORD) {
    return hashPassword(password);
  }
  defaultHash ??= hashPassword(DEFAULT_PASSWORD);
  return defaultHash;
}

/** Inserts a user directly (a unique email unless given); customer, active, password `Password123!`. */
export async function createUser(dataSource: DataSource, overrides: UserOverrides = {}): Promise<TestUser> {
  const password = overrides.password ?? DEFAULT_PASSWORD;
  const email = (overrides.email ?? `user-${randomUUID()}@example.com`).toLowerCase();
  const firstName = overrides.firstName ?? 'Test';
  const lastName = overrides.lastName ?? 'User';
  const role = overrides.role ?? 'customer';
  const isActive = overrides.isActive ?? true;
  const [row] = await dataSource.query<{ id: string }[]>(
    `INSERT INTO users (email, password_hash, first_name, last_name, role, is_active, phone, preferred_language, deleted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      email,
      await hashFor(password),
      firstName,
      lastName,
      role,
      isActive,
      overrides.phone ?? null,
      overrides.preferredLanguage ?? 'en',
      overrides.deletedAt ?? null,
    ],
  );
  return { id: row.id, email, role, password, firstName, lastName, isActive };
}

/** Anything that mints access tokens: the TestApp (`sut`) or the TokenService itself. */
export type TokenMinter =
  | { tokenFor(user: AuthenticatedUser): Promise<string> }
  | { signAccessToken(user: AuthenticatedUser): string };

export async function accessTokenFor(minter: TokenMinter, user: AuthenticatedUser): Promise<string> {
  const claims = { id: user.id, email: user.email, role: user.role };
  return 'tokenFor' in minter ? minter.tokenFor(claims) : minter.signAccessToken(claims);
}

/** A user and a valid access token for them: `const { user, token } = await createUserWithToken(sut)`. */
export async function createUserWithToken(
  app: { dataSource: DataSource } & TokenMinter,
  overrides: UserOverrides = {},
): Promise<{ user: TestUser; token: string }> {
  const user = await createUser(app.dataSource, overrides);
  return { user, token: await accessTokenFor(app, user) };
}
