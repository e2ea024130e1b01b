import { request as httpRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Injectable } from '@nestjs/common';
import { ForbiddenTargetError, guardedLookup, hostOf, isForbiddenAddress } from './webhook-url-policy';

/** How much of a receiver's answer is kept on the delivery (enough to see an error message). */
export const RESPONSE_BODY_LIMIT = 1024;

export type AttemptOutcome =
  | 'success'
  | 'gone'
  | 'http_error'
  | 'timeout'
  | 'network_error'
  | 'blocked'
  /** Not sent: the secret could not be decrypted. */
  | 'unsigned';

export interface AttemptResult {
  outcome: AttemptOutcome;
  statusCode: number | null;
  responseBody: string | null;
  error: string | null;
  latencyMs: number;
}

export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivateTargets: boolean;
}

/**
 * One POST to a receiver: no redirects followed (a 3xx is a failed attempt), one deadline for the whole
 * exchange, the target's addresses checked on connect unless private targets are allowed, no keep-alive
 * (a receiver cannot hold our sockets). Never throws: every failure is an AttemptResult.
 */
@Injectable()
export class WebhookHttpClient {
  async post(req: OutboundRequest): Promise<AttemptResult> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return {
        outcome: 'network_error',
        statusCode: null,
        responseBody: null,
        error: 'invalid URL',
        latencyMs: 0,
      };
    }
    const host = hostOf(url);
    if (!req.allowPrivateTargets && isIP(host) && isForbiddenAddress(host)) {
      return {
        outcome: 'blocked',
        statusCode: null,
        responseBody: null,
        error: `${host} is a loopback, private, link-local or metadata address`,
        latencyMs: 0,
      };
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const finish = (result: Omit<AttemptResult, 'latencyMs'>) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve({ ...result, latencyMs: latency() });
        }
      };
      const outgoing = send(
        url,
        {
          method: 'POST',
          agent: false,
          headers: {
            ...req.headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(req.body).toString(),
            'user-agent': 'async-order-processor-webhooks/1',
          },
          ...(req.allowPrivateTargets ? {} : { lookup: guardedLookup }),
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          let kept = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            kept += chunk;
            if (kept.length >= RESPONSE_BODY_LIMIT) {
              res.destroy();
            }
          });
          const done = () =>
            finish({
              outcome: status >= 200 && status < 300 ? 'success' : status === 410 ? 'gone' : 'http_error',
              statusCode: status,
              responseBody: kept.slice(0, RESPONSE_BODY_LIMIT),
              error:
                status >= 300 && status < 400
                  ? `redirect to ${String(res.headers.location ?? '?')} not followed`
                  : status >= 200 && status < 300
                    ? null
                    : `HTTP ${status}`,
            });
          res.on('end', done);
          res.on('close', done);
          res.on('error', done);
        },
      );
      const timer = setTimeout(() => {
        outgoing.destroy();
        finish({
          outcome: 'timeout',
          statusCode: null,
          responseBody: null,
          error: `no answer within ${req.timeoutMs} ms`,
        });
      }, req.timeoutMs);
      outgoing.on('error', (error: Error) =>
        finish({
          outcome: error instanceof ForbiddenTargetError ? 'blocked' : 'network_error',
          statusCode: null,
          responseBody: null,
          error: error.message,
        }),
      );
      outgoing.end(req.body);
    });
  }
}
