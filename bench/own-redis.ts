import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/**
 * A redis-server of the bench's own on a spare port: its CPU (by pid) and its command count (INFO) are
 * the service's alone, not those of whoever else shares the machine's Redis. Nothing is persisted.
 */
export class OwnRedis {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(binary = 'redis-server'): Promise<OwnRedis> {
    const port = await freePort();
    const child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
    });
    const redis = new OwnRedis(child, port);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await Promise.race([redis.commandsProcessed(), failed]);
        return redis;
      } catch (error) {
        if (Date.now() > deadline || (error as Error).message.startsWith('redis-server')) {
          child.kill('SIGKILL');
          throw error;
        }
        await sleep(100);
      }
    }
  }

  /** Calls per command so far (INFO commandstats), this call's own INFO included. */
  async commandStats(): Promise<Record<string, number>> {
    const client = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const info = await client.info('commandstats');
      return Object.fromEntries(
        [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]),
      );
    } finally {
      client.disconnect();
    }
  }

  /** Commands the server has processed so far (INFO stats), this call's own INFO included. */
  async commandsProcessed(): Promise<number> {
    const client = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // Refused connections while the server starts are expected: the caller retries.
    client.on('error', () => undefined);
    try {
      await client.connect();
      const info = await client.info('stats');
      return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) {
      return;
    }
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    this.child.kill('SIGKILL');
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
