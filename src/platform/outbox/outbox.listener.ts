import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

/**
 * A dedicated PostgreSQL connection LISTENing on the outbox channel. It reconnects with backoff when
 * the server restarts or the connection drops, and calls `onNotify` once after every (re)connect,
 * since anything committed while it was away produced no notification it could see.
 */
export class OutboxListener {
  private readonly logger = new Logger(OutboxListener.name);
  private readonly stopping = new AbortController();
  private current?: Client;
  private connected = false;
  private loop?: Promise<void>;
  private lastErrorLoggedAt = 0;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onNotify: () => void,
  ) {}

  get listening(): boolean {
    return this.connected;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.current?.end().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    let delayMs = 100;
    while (!this.stopping.signal.aborted) {
      const client = new Client({
        connectionString: this.url,
        application_name: 'aop-outbox-listener',
        connectionTimeoutMillis: 5000,
        keepAlive: true,
      });
      this.current = client;
      const closed = new Promise<void>((resolve) => {
        client.on('error', (error) => {
          this.logError('outbox listener connection lost', error);
          resolve();
        });
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        client.on('notification', () => this.onNotify());
        await client.query(`LISTEN ${this.channel}`);
        this.connected = true;
        delayMs = 100;
        this.logger.log({ channel: this.channel }, 'outbox listener connected');
        this.onNotify();
        await closed;
      } catch (error) {
        this.logError('outbox listener cannot connect', error as Error);
      }
      this.connected = false;
      await client.end().catch(() => undefined);
      await sleep(delayMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      delayMs = Math.min(delayMs * 2, 5000);
    }
  }

  private logError(message: string, error: Error): void {
    if (this.stopping.signal.aborted) {
      return;
    }
    if (Date.now() - this.lastErrorLoggedAt > 10_000) {
      this.lastErrorLoggedAt = Date.now();
      this.logger.warn({ err: error.message }, message);
    }
  }
}
