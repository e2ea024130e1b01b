import { Logger } from '@nestjs/common';
import { GatewayStatus } from './payment-provider';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from './webhook-signature';

/** What the gateway tells us when an asynchronous payment settles. */
export interface GatewayWebhookEvent {
  /** Unique per event: the receiver records it to ignore re-deliveries. */
  id: string;
  type: 'charge.succeeded' | 'charge.failed';
  /** Unix seconds. */
  created: number;
  data: {
    reference: string;
    idempotencyKey: string;
    status: Extract<GatewayStatus, 'SUCCEEDED' | 'FAILED'>;
    amount: string;
    currency: string;
    failureCode?: string;
    failureMessage?: string;
  };
}

export interface WebhookSender {
  send(event: GatewayWebhookEvent): Promise<void>;
  /** Abandons deliveries in flight (shutdown). */
  close?(): void;
}

export interface HttpWebhookSenderOptions {
  url: string;
  secret: string;
  /** Deliveries tried before giving up; real gateways retry for days, the mock for a few seconds. */
  attempts?: number;
  baseDelayMs?: number;
  now?: () => number;
}

/**
 * Posts signed webhooks like a remote gateway would: the body is signed once per attempt with a fresh
 * timestamp, and a non-2xx answer is retried with exponential backoff.
 */
export class HttpWebhookSender implements WebhookSender {
  private readonly logger = new Logger(HttpWebhookSender.name);
  private readonly shutdown = new AbortController();

  constructor(private readonly options: HttpWebhookSenderOptions) {}

  async send(event: GatewayWebhookEvent): Promise<void> {
    const attempts = this.options.attempts ?? 5;
    const baseDelayMs = this.options.baseDelayMs ?? 500;
    const body = JSON.stringify(event);
    for (let attempt = 1; ; attempt++) {
      try {
        const timestamp = Math.floor((this.options.now ?? Date.now)() / 1000);
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [WEBHOOK_SIGNATURE_HEADER]: signWebhook(this.options.secret, body, timestamp),
          },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(10_000), this.shutdown.signal]),
        });
        if (response.ok) {
          return;
        }
        throw new Error(`webhook answered ${response.status}`);
      } catch (error) {
        if (attempt >= attempts || this.shutdown.signal.aborted) {
          this.logger.error({ eventId: event.id, err: (error as Error).message }, 'webhook delivery gave up');
          throw error;
        }
        await abortableDelay(baseDelayMs * 2 ** (attempt - 1), this.shutdown.signal);
      }
    }
  }

  close(): void {
    this.shutdown.abort();
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
