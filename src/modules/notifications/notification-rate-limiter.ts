import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { RedisService } from '../../platform/redis/redis.service';

/**
 * At most N non-critical messages per user per clock hour, counted in Redis so every worker shares
 * the count. A fixed window is enough here: the aim is to spare people floods, not exact fairness.
 */
@Injectable()
export class NotificationRateLimiter {
  constructor(
    private readonly redis: RedisService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Counts one message for the user; false when it is over the hourly limit. */
  async tryConsume(userId: string, now = Date.now()): Promise<boolean> {
    const limit = this.config.notification.perUserHourlyLimit;
    if (limit === 0) {
      return true;
    }
    const hour = Math.floor(now / 3_600_000);
    const key = this.redis.key('notifications', 'rate', userId, String(hour));
    const [[, count]] = (await this.redis.client.multi().incr(key).expire(key, 3600).exec()) as [
      [Error | null, number],
      [Error | null, number],
    ];
    return count <= limit;
  }
}
