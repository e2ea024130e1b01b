import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { UserRole } from '../../platform/http/access.decorators';

/** Only a SHA-256 of a refresh token is stored: a copy of the table lets nobody log in. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface RotatedToken {
  familyId: string;
  user: { id: string; email: string; role: UserRole };
}

export interface SpentToken {
  familyId: string;
  userId: string;
  usedAt: Date | null;
  revokedAt: Date | null;
  expiresAt: Date;
}

/**
 * Opaque refresh tokens, one family per login. Rotation spends a token with one conditional UPDATE, so
 * of any number of concurrent refreshes of one token exactly one can win.
 */
@Injectable()
export class RefreshTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Issues a new token in the family (a new family when none is given); returns the plain token. */
  async issue(
    tx: EntityManager,
    userId: string,
    ttlSeconds: number,
    familyId: string = randomUUID(),
  ): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await tx.query(
      `INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [userId, familyId, hashRefreshToken(token), ttlSeconds],
    );
    return token;
  }

  /**
   * Marks the token used if it is live and its owner may still log in; undefined otherwise. The
   * `used_at IS NULL` condition is re-checked under the row lock, so a concurrent loser gets no row.
   */
  async spend(tx: EntityManager, token: string): Promise<RotatedToken | undefined> {
    const rows = await tx.query<[{ familyId: string; id: string; email: string; role: UserRole }[], number]>(
      `UPDATE refresh_tokens t SET used_at = now()
       FROM users u
       WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()
         AND u.id = t.user_id AND u.is_active AND u.deleted_at IS NULL
       RETURNING t.family_id AS "familyId", u.id, u.email, u.role`,
      [hashRefreshToken(token)],
    );
    const row = rows[0][0];
    return row
      ? { familyId: row.familyId, user: { id: row.id, email: row.email, role: row.role } }
      : undefined;
  }

  async find(token: string): Promise<SpentToken | undefined> {
    const rows = await this.dataSource.query<SpentToken[]>(
      `SELECT family_id AS "familyId", user_id AS "userId", used_at AS "usedAt", revoked_at AS "revokedAt",
              expires_at AS "expiresAt"
       FROM refresh_tokens WHERE token_hash = $1`,
      [hashRefreshToken(token)],
    );
    return rows[0];
  }

  /** Revokes every live token of the family; returns how many were still live. */
  async revokeFamily(familyId: string, tx: EntityManager = this.dataSource.manager): Promise<number> {
    const rows = await tx.query<[unknown[], number]>(
      `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
      [familyId],
    );
    return rows[1];
  }

  async revokeAllOfUser(tx: EntityManager, userId: string): Promise<number> {
    const rows = await tx.query<[unknown[], number]>(
      `UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`,
      [userId],
    );
    return rows[1];
  }

  /**
   * Deletes up to `limit` tokens expired or revoked longer than the retention ago. Two index range
   * scans (expires_at, revoked_at), never a scan of the live sessions.
   */
  async pruneDead(olderThanSeconds: number, limit: number): Promise<number> {
    const [{ count }] = await this.dataSource.query<{ count: number }[]>(
      `WITH doomed AS (
         (SELECT id FROM refresh_tokens WHERE expires_at < now() - make_interval(secs => $1)
          ORDER BY expires_at LIMIT $2)
         UNION
         (SELECT id FROM refresh_tokens WHERE revoked_at < now() - make_interval(secs => $1)
          ORDER BY revoked_at LIMIT $2)
       ), gone AS (
         DELETE FROM refresh_tokens WHERE id IN (
           SELECT id FROM refresh_tokens WHERE id IN (SELECT id FROM doomed) LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING 1)
       SELECT count(*)::int AS count FROM gone`,
      [olderThanSeconds, limit],
    );
    return count;
  }
}
