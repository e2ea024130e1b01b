import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { UserRole } from '../../platform/http/access.decorators';

/** What decides whether a user's access token still counts: role, active account, token version. */
export interface UserStanding {
  role: UserRole;
  /** Active and not deleted. */
  active: boolean;
  tokenVersion: number;
}

@Injectable()
export class UserStandingRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Undefined when no such user exists at all. */
  async find(userId: string): Promise<UserStanding | undefined> {
    const [row] = await this.dataSource.query<UserStanding[]>(
      `SELECT role, (is_active AND deleted_at IS NULL) AS active, token_version AS "tokenVersion"
       FROM users WHERE id = $1`,
      [userId],
    );
    return row;
  }

  /** "Log out everywhere": every access token signed with an older version stops counting. */
  async raiseTokenVersion(tx: EntityManager, userId: string): Promise<boolean> {
    const [rows] = await tx.query<[{ id: string }[], number]>(
      `UPDATE users SET token_version = token_version + 1, updated_at = now()
       WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
      [userId],
    );
    return rows.length > 0;
  }
}
