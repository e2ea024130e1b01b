import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';

interface Link {
  client: Socket;
  upstream?: Socket;
}

/**
 * A TCP proxy in front of a real server that a test can cut (`stop`: listener closed, every
 * connection reset) and restore (`start` on the same port), to take Redis "down" for one component.
 * `blackHole` is the nastier outage: connections stay open and new ones are accepted, but nothing
 * gets through (a dropped route, a hung server); `heal` lets the held bytes through again, as TCP
 * retransmission would once the path is back.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly links = new Set<Link>();
  private holed = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const link: Link = { client };
      this.track(client);
      this.links.add(link);
      client.on('close', () => {
        link.upstream?.destroy();
        this.links.delete(link);
      });
      if (this.holed) {
        // Accepted, but never answered until the hole heals.
        client.pause();
      } else {
        this.connectUpstream(link);
      }
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.holed = false;
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Nothing gets through in either direction; connections hang instead of failing. */
  blackHole(): void {
    this.holed = true;
    for (const { client, upstream } of this.links) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
      upstream?.pause();
    }
  }

  /** Lets traffic flow again, the bytes held meanwhile included. */
  heal(): void {
    this.holed = false;
    for (const link of this.links) {
      if (link.upstream) {
        link.client.pipe(link.upstream);
        link.upstream.pipe(link.client);
      } else {
        this.connectUpstream(link);
      }
    }
  }

  private connectUpstream(link: Link): void {
    const upstream = connect(this.targetPort, this.targetHost);
    link.upstream = upstream;
    this.track(upstream);
    upstream.on('close', () => link.client.destroy());
    link.client.pipe(upstream).pipe(link.client);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }
}
