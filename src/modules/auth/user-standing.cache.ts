import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { RedisClient } from '../../platform/redis/redis-connection';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { servesHttp } from '../../config/roles';
import { withTimeout } from '../../platform/queue/with-timeout';
import { RedisService } from '../../platform/redis/redis.service';
import { AuthenticatedUser } from './auth.decorators';
import { UserStanding, UserStandingRepository } from './user-standing.repository';

/** Why an access token no longer counts, or `ok`. */
export type TokenStanding = 'ok' | 'revoked' | 'unverifiable';

const MAX_ENTRIES = 50_000;

/**
 * What this API process knows of each user's standing (role, active, token version), read from the
 * database at most once per user per cache period, so requests need no query of their own. A change
 * (deactivation, deletion, role change, "log out everywhere") is announced on a Redis pub/sub channel
 * and every process drops its entry at once. The channel proves itself with a ping of its own every
 * half degraded period: while it is silent (Redis down, or hanging), entries live only
 * AUTH_STANDING_CACHE_DEGRADED_MS, and admin routes are refused (`unverifiable`), since a revocation
 * could be missed.
 */
@Injectable()
export class UserStandingCache implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(UserStandingCache.name);
  private readonly entries = new Map<string, { at: number; standing: Promise<UserStanding | undefined> }>();
  private readonly instance = randomUUID();
  private readonly channel: string;
  private subscriber?: RedisClient;
  private pinger?: NodeJS.Timeout;
  private lastHeardAt = 0;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly repository: UserStandingRepository,
  ) {
    this.channel = redis.key('auth', 'user-changed');
  }

  async onModuleInit(): Promise<void> {
    if (!servesHttp(this.config)) {
      return;
    }
    const subscriber = this.redis.connectionFor('blocking');
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
    // Messages sent while the subscription was down are lost: forget everything learnt before it.
    subscriber.on('ready', () => {
      void subscriber
        .subscribe(this.channel)
        .then(() => this.entries.clear())
        .catch(() => undefined);
    });
    if (subscriber.status === 'ready') {
      await subscriber.subscribe(this.channel).catch(() => undefined);
    }
    const every = Math.max(50, Math.floor(this.config.auth.standingCacheDegradedMs / 2));
    this.pinger = setInterval(() => void this.ping(), every);
    this.pinger.unref();
    // Start with a proven channel when Redis is there, so admin routes work from the first request.
    await this.ping();
    const deadline = Date.now() + this.config.startup.connectTimeoutMs;
    while (!this.channelHealthy && Date.now() < deadline && this.redis.client.status === 'ready') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (!this.channelHealthy) {
        await this.ping();
      }
    }
  }

  onApplicationShutdown(): void {
    // The subscriber connection is closed by RedisService with the others (an UNSUBSCRIBE would wait
    // for a Redis that may be down).
    clearInterval(this.pinger);
  }

  /** True while the invalidation channel delivered its own ping recently. */
  get channelHealthy(): boolean {
    return Date.now() - this.lastHeardAt < 2 * this.config.auth.standingCacheDegradedMs;
  }

  /**
   * Whether the token of `user` still counts. `strict` (admin routes): refuse when the channel is
   * silent rather than trust an entry a lost message may have left stale.
   */
  async check(user: AuthenticatedUser, strict: boolean): Promise<TokenStanding> {
    const healthy = this.channelHealthy;
    if (strict && !healthy) {
      return 'unverifiable';
    }
    const standing = await this.standingOf(user.id, healthy);
    const valid =
      standing !== undefined &&
      standing.active &&
      standing.role === user.role &&
      standing.tokenVersion === (user.tokenVersion ?? 0);
    return valid ? 'ok' : 'revoked';
  }

  /** After a change of the user committed: this process forgets at once, the others on the message. */
  async userChanged(userId: string): Promise<void> {
    this.entries.delete(userId);
    try {
      await withTimeout(
        this.redis.client.publish(this.channel, JSON.stringify({ userId })),
        this.config.auth.standingCacheDegradedMs,
        'user change announcement',
      );
    } catch (error) {
      // The other processes learn within AUTH_STANDING_CACHE_DEGRADED_MS once their channel is silent.
      this.logger.warn({ err: (error as Error).message, userId }, 'could not announce a user change');
    }
  }

  private standingOf(userId: string, healthy: boolean): Promise<UserStanding | undefined> {
    const maxAge = healthy ? this.config.auth.standingCacheMs : this.config.auth.standingCacheDegradedMs;
    const cached = this.entries.get(userId);
    if (cached && Date.now() - cached.at < maxAge) {
      return cached.standing;
    }
    if (this.entries.size >= MAX_ENTRIES) {
      // Map order is insertion order: the oldest entry goes first.
      this.entries.delete(this.entries.keys().next().value!);
    }
    const standing = this.repository.find(userId);
    const entry = { at: Date.now(), standing };
    this.entries.delete(userId);
    this.entries.set(userId, entry);
    // A failed read must not stay cached: the next request asks again.
    standing.catch(() => {
      if (this.entries.get(userId) === entry) {
        this.entries.delete(userId);
      }
    });
    return standing;
  }

  private async ping(): Promise<void> {
    if (this.redis.client.status !== 'ready' || this.subscriber?.status !== 'ready') {
      return;
    }
    await withTimeout(
      this.redis.client.publish(this.channel, JSON.stringify({ ping: this.instance })),
      this.config.auth.standingCacheDegradedMs,
      'standing channel ping',
    ).catch(() => undefined);
  }

  private onMessage(message: string): void {
    let parsed: { userId?: unknown; ping?: unknown };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.ping === this.instance) {
      this.lastHeardAt = Date.now();
    } else if (typeof parsed.userId === 'string') {
      this.entries.delete(parsed.userId);
    }
  }
}
