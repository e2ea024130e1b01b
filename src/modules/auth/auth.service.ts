import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Counter } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { ConflictError } from '../../platform/http/domain-error';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { OutboxWriter } from '../../platform/outbox/outbox.writer';
import { toUserResponse } from '../users/users.dto';
import { UserRecord, UsersRepository } from '../users/users.repository';
import { AuthSessionDto, RegisterDto } from './auth.dto';
import { InvalidCredentialsError, InvalidRefreshTokenError } from './auth.errors';
import { LoginThrottle } from './login-throttle';
import { hashPassword, passwordNeedsRehash, verifyPassword } from './password-hasher';
import { RefreshTokenRepository } from './refresh-token.repository';
import { TokenService } from './token.service';

/** Registration, login, refresh-token rotation and logout. */
@Injectable()
export class AuthService implements OnModuleInit {
  private readonly logger = new Logger(AuthService.name);
  private dummyHash = '';
  private readonly logins: Counter<'outcome'>;
  private readonly reuses: Counter;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokenRepository,
    private readonly tokens: TokenService,
    private readonly outbox: OutboxWriter,
    private readonly throttle: LoginThrottle,
    metrics: MetricsService,
  ) {
    this.logins = new Counter({
      name: 'aop_auth_logins_total',
      help: 'Login attempts by outcome',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    this.reuses = new Counter({
      name: 'aop_auth_refresh_token_reuse_total',
      help: 'Spent refresh tokens presented again (each revokes its token family)',
      registers: [metrics.registry],
    });
  }

  // Made once at start-up with the real parameters, so verifying against it costs what a real check does.
  async onModuleInit(): Promise<void> {
    this.dummyHash = await hashPassword(randomBytes(16).toString('base64url'));
  }

  async register(input: RegisterDto): Promise<AuthSessionDto> {
    const passwordHash = await hashPassword(input.password);
    return this.dataSource.transaction(async (tx) => {
      const user = await this.users.insert(tx, {
        email: input.email,
        passwordHash,
        firstName: input.firstName,
        lastName: input.lastName,
      });
      if (!user) {
        throw new ConflictError('An account with this email already exists.', 'EMAIL_TAKEN');
      }
      await this.outbox.append(tx, {
        type: 'UserRegistered',
        aggregateType: 'user',
        aggregateId: user.id,
        payload: {
          userId: user.id,
          email: user.email,
          firstName: user.firstName,
          language: user.preferredLanguage,
        },
      });
      return this.startSession(tx, user);
    });
  }

  async login(email: string, password: string, ip: string): Promise<AuthSessionDto> {
    await this.throttle.takeAttempt(email, ip);
    const credentials = await this.users.findCredentialsByEmail(email);
    // An unknown email is checked against a dummy hash, so it costs the same argon2 run as a wrong password.
    const passwordMatches = await verifyPassword(credentials?.passwordHash ?? this.dummyHash, password);
    if (!credentials || !passwordMatches || !credentials.canLogIn) {
      this.logins.inc({ outcome: 'failure' });
      throw new InvalidCredentialsError();
    }
    await this.throttle.forgiveAttempt(email, ip);
    const rehashed = passwordNeedsRehash(credentials.passwordHash) ? await hashPassword(password) : undefined;
    const session = await this.dataSource.transaction(async (tx) => {
      const user = await this.users.recordLogin(tx, credentials.id, rehashed);
      return user ? this.startSession(tx, user) : undefined;
    });
    if (!session) {
      this.logins.inc({ outcome: 'failure' });
      throw new InvalidCredentialsError();
    }
    this.logins.inc({ outcome: 'success' });
    return session;
  }

  /** Spends the refresh token and issues a new pair in the same family. */
  async refresh(refreshToken: string): Promise<AuthSessionDto> {
    const session = await this.dataSource.transaction(async (tx) => {
      const spent = await this.refreshTokens.spend(tx, refreshToken);
      const user = spent && (await this.users.findById(spent.user.id, tx));
      return user ? this.startSession(tx, user, spent.familyId) : undefined;
    });
    if (session) {
      return session;
    }
    await this.revokeFamilyIfReused(refreshToken);
    throw new InvalidRefreshTokenError();
  }

  /** Ends the session the refresh token belongs to (its whole family); silent for tokens of others. */
  async logout(userId: string, refreshToken: string): Promise<void> {
    const known = await this.refreshTokens.find(refreshToken);
    if (known && known.userId === userId) {
      await this.refreshTokens.revokeFamily(known.familyId);
    }
  }

  /** Ends the session a refresh token belongs to, whoever holds it (the console's cookie names no user). */
  async endSession(refreshToken: string): Promise<void> {
    const known = await this.refreshTokens.find(refreshToken);
    if (known) {
      await this.refreshTokens.revokeFamily(known.familyId);
    }
  }

  private async startSession(
    tx: EntityManager,
    user: UserRecord,
    familyId?: string,
  ): Promise<AuthSessionDto> {
    const refreshToken = await this.refreshTokens.issue(
      tx,
      user.id,
      this.config.auth.refreshTokenTtlSeconds,
      familyId,
    );
    return {
      user: toUserResponse(user),
      accessToken: this.tokens.signAccessToken({
        id: user.id,
        email: user.email,
        role: user.role,
        tokenVersion: user.tokenVersion,
      }),
      refreshToken,
      expiresIn: this.tokens.accessTokenTtlSeconds,
    };
  }

  // A spent token coming back means two parties hold it: one is a thief, and we cannot tell which.
  private async revokeFamilyIfReused(refreshToken: string): Promise<void> {
    const known = await this.refreshTokens.find(refreshToken);
    if (!known?.usedAt) {
      return;
    }
    const revoked = await this.refreshTokens.revokeFamily(known.familyId);
    this.reuses.inc();
    this.logger.warn(
      { securityEvent: 'refresh_token_reuse', userId: known.userId, familyId: known.familyId, revoked },
      'A spent refresh token was presented again; its whole token family is revoked',
    );
  }
}
