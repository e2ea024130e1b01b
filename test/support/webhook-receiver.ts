import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * How the receiver answers one request: a status (or a promise of one, to answer late), or `hold` to keep
 * it open until release().
 */
export type Responder = (
  request: ReceivedWebhook,
  seen: ReceivedWebhook[],
) => number | 'hold' | Promise<number>;

/**
 * A real HTTP receiver on 127.0.0.1 for webhook specs: records every request with its exact body and
 * headers, answers as the test's responder says, and can go down and come back on the same port.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  respond: Responder = () => 200;
  private server: Server | undefined;
  private held: ServerResponse[] = [];
  private portNumber = 0;

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(this.portNumber, '127.0.0.1');
    await once(this.server, 'listening');
    this.portNumber = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Closes the port (connections refused) until start() again. */
  async stop(): Promise<void> {
    this.release();
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  /** Answers every held request with 200. */
  release(): void {
    for (const res of this.held.splice(0)) {
      res.writeHead(200).end();
    }
  }

  get heldCount(): number {
    return this.held.length;
  }

  for(path: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
    }
    const request = { path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') };
    this.received.push(request);
    const answer = await this.respond(request, this.received);
    if (answer === 'hold') {
      this.held.push(res);
      return;
    }
    const location = answer >= 300 && answer < 400 ? { location: `${this.url}/redirected` } : {};
    res.writeHead(answer, { 'content-type': 'text/plain', ...location }).end(`answered ${answer}`);
  }
}
