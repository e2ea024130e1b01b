import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';

/** Protocol codes sent in place of a startup message's version: SSLRequest, GSSENCRequest, CancelRequest. */
const UNTYPED_REQUESTS = new Set([80877103, 80877104, 80877102]);

/**
 * A TCP proxy in front of PostgreSQL that counts round trips: every simple Query ('Q') and every
 * Sync ('S', the end of an extended-protocol batch) the clients send is one wait for the server. It
 * only walks message lengths, so it costs little, and it runs in the bench process, not the service.
 */
export class PgRoundTripCounter {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  roundTrips = 0;
  port = 0;

  constructor(
    private readonly targetHost = '127.0.0.1',
    private readonly targetPort = 5432,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.on('data', this.counter());
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** One parser per connection: the startup message has no type byte, every later message has one. */
  private counter(): (chunk: Buffer) => void {
    let typed = false;
    // Bytes of the current message still to pass over, and a header split across two chunks.
    let skip = 0;
    let partial = Buffer.alloc(0);
    return (chunk: Buffer) => {
      const buffer = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
      partial = Buffer.alloc(0);
      let offset = 0;
      while (offset < buffer.length) {
        if (skip > 0) {
          const n = Math.min(skip, buffer.length - offset);
          skip -= n;
          offset += n;
          continue;
        }
        const header = typed ? 5 : 8;
        if (buffer.length - offset < header) {
          partial = Buffer.from(buffer.subarray(offset));
          return;
        }
        if (!typed) {
          typed = !UNTYPED_REQUESTS.has(buffer.readInt32BE(offset + 4));
          skip = buffer.readInt32BE(offset);
          continue;
        }
        const type = buffer[offset];
        if (type === 0x51 /* Q */ || type === 0x53 /* S */) {
          this.roundTrips += 1;
        }
        skip = buffer.readInt32BE(offset + 1) + 1;
      }
    };
  }
}
