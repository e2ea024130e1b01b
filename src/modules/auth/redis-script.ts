import { createHash } from 'node:crypto';
import type { RedisClient } from '../../platform/redis/redis-connection';

/** A Lua script run by its SHA (EVALSHA), loaded on first use or after a Redis restart (NOSCRIPT). */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return client.eval(this.lua, keys.length, ...keys, ...args);
      }
      throw error;
    }
  }
}

/**
 * Fixed-window counter: INCR, and start the window's expiry on the first hit (or when a key lost its
 * TTL). Returns [count, milliseconds left in the window]. One round trip, atomic.
 */
export const FIXED_WINDOW_HIT = new RedisScript(`
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`);
