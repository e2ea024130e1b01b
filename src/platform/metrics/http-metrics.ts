import type { FastifyInstance } from 'fastify';
import { Gauge, Histogram, Registry } from 'prom-client';

/** Requests Fastify could not route (404s, scans): one label value, so random URLs never grow the series. */
export const UNMATCHED_ROUTE = 'unmatched';

// Fine below 100 ms, where the p99 < 50 ms target of POST /orders is judged; coarse above it.
export const HTTP_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route template of a request (`/api/v1/orders/:id`), never its raw URL: a label per order id
 * would make one series per order.
 */
export function routeLabel(routeUrl: string | undefined, notFoundHandler: boolean): string {
  // A route that answers 404 itself (an unknown order id) is still that route; only Fastify's
  // not-found handler stands for "no route".
  return routeUrl === undefined || notFoundHandler ? UNMATCHED_ROUTE : routeUrl;
}

function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}

/** Request duration by method, route template and status, and requests in flight, via Fastify hooks. */
export function instrumentHttp(fastify: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: 'aop_http_request_duration_seconds',
    help: 'HTTP request duration from arrival to the last byte sent, by route template.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'aop_http_requests_in_flight',
    help: 'HTTP requests being served right now.',
    registers: [registry],
  });

  fastify.addHook('onRequest', (_request, reply, done) => {
    inFlight.inc();
    // 'close' fires for finished and aborted responses alike; 'finish' (onResponse) only for the former.
    reply.raw.once('close', () => inFlight.dec());
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = routeLabel(request.routeOptions.url, request.is404);
    duration.observe(
      { method: methodLabel(request.method), route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
