import { EntityManager } from 'typeorm';
import { hashPassword } from '../auth/password-hasher';

/** Creates the admin of ADMIN_EMAIL / ADMIN_PASSWORD when no user has that email; an existing one is left as it is. */
export async function seedAdmin(
  tx: EntityManager,
  admin: { email: string; password: string },
  log: (message: string) => void,
): Promise<void> {
  const [existing] = await tx.query<unknown[]>('SELECT id FROM users WHERE email = $1', [admin.email]);
  if (existing) {
    return;
  }
  await tx.query(
    `INSERT INTO users (email, password_hash, first_name, last_name, role) VALUES ($1, $2, 'Admin', 'User', 'admin')`,
    [admin.email, await hashPassword(admin.password)],
  );
  log(`Created admin ${admin.email}`);
}
