import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { MetricsService } from './metrics.service';

/** A worker's liveness path on WORKER_METRICS_PORT (the api's is /api/v1/health/live). */
export const WORKER_LIVENESS_PATH = '/health/live';

/**
 * A worker has no HTTP API, but its metrics (jobs, saga steps, payments, the breaker, the relay) live in
 * its process. With WORKER_METRICS_PORT set, a ROLE=worker process serves them at /metrics on that port
 * (same optional METRICS_TOKEN), and a tokenless liveness check at /health/live; unset, the worker listens on
 * nothing.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server?: Server;

  constructor(
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.metrics.workerPort;
    if (this.config.role !== 'worker' || port === undefined) {
      return;
    }
    this.server = createServer((request, response) => {
      // Liveness for an orchestrator (ops/k8s, docker-compose.yml): the event loop answers. Tokenless because a
      // probe cannot read a Secret, and it discloses nothing.
      if (request.url === WORKER_LIVENESS_PATH && request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      if (request.url !== '/metrics' || request.method !== 'GET') {
        response.writeHead(404).end();
        return;
      }
      if (!this.authorised(request.headers.authorization)) {
        response.writeHead(401).end();
        return;
      }
      this.metrics.registry.metrics().then(
        (body) => response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body),
        () => response.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(port, this.config.http.host, resolve));
    this.logger.log(
      { port, bearerToken: this.config.metrics.token !== undefined },
      this.config.metrics.token === undefined
        ? 'worker metrics at /metrics, without a token (METRICS_TOKEN unset)'
        : 'worker metrics at /metrics, bearer token required (METRICS_TOKEN)',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }

  private authorised(header: string | undefined): boolean {
    const token = this.config.metrics.token;
    if (token === undefined) {
      return true;
    }
    const given = Buffer.from(header?.replace(/^Bearer /, '') ?? '');
    const expected = Buffer.from(token);
    return (
      header?.startsWith('Bearer ') === true &&
      given.length === expected.length &&
      timingSafeEqual(given, expected)
    );
  }
}
