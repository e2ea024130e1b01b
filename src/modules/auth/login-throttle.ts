import { HttpException, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { RedisService } from '../../platform/redis/redis.service';
import { RedisScript } from './redis-script';

/**
 * Takes one attempt slot for the email and for the IP unless either is used up; answers
 * [1, 0] when taken, [0, ms until the blocking counter expires] when refused. Taking the slot before
 * the password is checked keeps a burst of parallel guesses from slipping past the limit.
 */
const TAKE_ATTEMPT = new RedisScript(`
local limits = {tonumber(ARGV[2]), tonumber(ARGV[3])}
for i = 1, 2 do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= limits[i] then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then ttl = tonumber(ARGV[1]) end
    return {0, ttl}
  end
end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 or redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end
return {1, 0}
`);

/** A successful login clears the email's failures and gives the IP its slot back. */
const FORGIVE_ATTEMPT = new RedisScript(`
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('DECR', KEYS[2]) <= 0 then
  redis.call('DEL', KEYS[2])
end
return 1
`);

export class LoginThrottledError extends HttpException {
  constructor(retryAfterSeconds: number) {
    super(
      {
        detail: `Too many failed logins. Try again in ${retryAfterSeconds} s.`,
        code: 'LOGIN_THROTTLED',
        retryAfter: retryAfterSeconds,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * Brute-force protection for POST /auth/login: LOGIN_THROTTLE_MAX_PER_EMAIL failures per email and
 * LOGIN_THROTTLE_MAX_PER_IP per client IP within LOGIN_THROTTLE_WINDOW_SECONDS, counted in Redis so the
 * limit holds across API instances. Fails open (logged) when Redis is down, like the global rate limit.
 */
@Injectable()
export class LoginThrottle {
  private readonly logger = new Logger(LoginThrottle.name);

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {}

  /** Throws LoginThrottledError (429) when the email or the IP has no attempts left. */
  async takeAttempt(email: string, ip: string): Promise<void> {
    const { windowSeconds, maxPerEmail, maxPerIp } = this.config.auth.loginThrottle;
    let result: [number, number];
    try {
      result = (await TAKE_ATTEMPT.run(this.redis.client, this.keys(email, ip), [
        windowSeconds * 1000,
        maxPerEmail,
        maxPerIp,
      ])) as [number, number];
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'Login throttle unavailable; failing open');
      return;
    }
    const [taken, ttlMs] = result;
    if (taken !== 1) {
      this.logger.warn({ securityEvent: 'login_throttled', ip }, 'Login attempt refused by the throttle');
      throw new LoginThrottledError(Math.max(1, Math.ceil(ttlMs / 1000)));
    }
  }

  async forgiveAttempt(email: string, ip: string): Promise<void> {
    try {
      await FORGIVE_ATTEMPT.run(this.redis.client, this.keys(email, ip), []);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'Login throttle unavailable; failing open');
    }
  }

  // Emails are hashed so that Redis holds no personal data.
  private keys(email: string, ip: string): string[] {
    const emailHash = createHash('sha256').update(email).digest('hex').slice(0, 32);
    return [this.redis.key('login-throttle', 'email', emailHash), this.redis.key('login-throttle', 'ip', ip)];
  }
}
