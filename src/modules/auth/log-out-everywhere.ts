import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RefreshTokenRepository } from './refresh-token.repository';
import { UserStandingCache } from './user-standing.cache';
import { UserStandingRepository } from './user-standing.repository';

/**
 * "Log out everywhere": every refresh token of the user is revoked and the token version raised in one
 * transaction, then every API process is told, so each access token already issued stops at once.
 */
@Injectable()
export class LogOutEverywhere {
  constructor(
    private readonly dataSource: DataSource,
    private readonly standings: UserStandingRepository,
    private readonly refreshTokens: RefreshTokenRepository,
    private readonly cache: UserStandingCache,
  ) {}

  async execute(userId: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await this.standings.raiseTokenVersion(tx, userId);
      await this.refreshTokens.revokeAllOfUser(tx, userId);
    });
    await this.cache.userChanged(userId);
  }
}
