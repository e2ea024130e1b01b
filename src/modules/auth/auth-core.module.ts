import { Global, Module, OnModuleInit } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { RetentionRegistry } from '../../platform/retention/retention.registry';
import { AuthGuard } from './auth.guard';
import { RateLimitGuard } from './rate-limit.guard';
import { RefreshTokenRepository } from './refresh-token.repository';
import { TokenService } from './token.service';
import { UserStandingCache } from './user-standing.cache';
import { UserStandingRepository } from './user-standing.repository';

/**
 * Token verification, refresh-token storage and the global guards: what every HTTP module relies on.
 * Global guards run in the order listed, so the rate limit also counts requests the auth guard refuses.
 */
@Global()
@Module({
  providers: [
    TokenService,
    RefreshTokenRepository,
    UserStandingRepository,
    UserStandingCache,
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenService, RefreshTokenRepository, UserStandingRepository, UserStandingCache],
})
export class AuthCoreModule implements OnModuleInit {
  constructor(
    private readonly retention: RetentionRegistry,
    private readonly refreshTokens: RefreshTokenRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const { refreshTokenSeconds } = this.config.retention;
    this.retention.register({
      table: 'refresh_tokens',
      pruneBatch: (limit) => this.refreshTokens.pruneDead(refreshTokenSeconds, limit),
    });
  }
}
