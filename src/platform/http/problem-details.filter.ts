import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { isDependencyUnavailable } from '../dependency-errors';
import { DomainError, FieldError } from './domain-error';
import { currentContext } from './request-context';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  correlationId?: string;
  code?: string;
  errors?: FieldError[];
}

const MAX_INT4 = 2_147_483_647;

/** Nest hands Fastify's own errors (a bad body) on as `HttpException(message, status)`: say what to do. */
const FRAMEWORK_DETAILS: Record<number, string> = {
  413: 'The request body is larger than the limit.',
  415: 'Unsupported content type; send application/json.',
};

export function problemType(status: number, code?: string): string {
  const slug = (code ?? STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `/problems/${slug}`;
}

/**
 * Turns any error into an RFC 9457 problem. Never leaks a stack trace or SQL: unknown errors are
 * logged with their detail and answered as a bare 500; dependency failures as a fast 503.
 */
export function toProblem(error: unknown, instance: string): ProblemDetails {
  const correlationId = currentContext()?.correlationId;
  const base = (status: number, detail: string, code?: string, errors?: FieldError[]): ProblemDetails => ({
    type: problemType(status, code),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance,
    correlationId,
    ...(code ? { code } : {}),
    ...(errors ? { errors } : {}),
  });

  if (error instanceof DomainError) {
    return base(error.status, error.message, error.code, error.errors);
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const body =
      typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
    const errors = Array.isArray(body.errors) ? (body.errors as FieldError[]) : undefined;
    const detail =
      typeof body.detail === 'string'
        ? body.detail
        : Array.isArray(body.message)
          ? String(body.message[0])
          : ((typeof response === 'string' ? FRAMEWORK_DETAILS[status] : undefined) ?? error.message);
    const code = typeof body.code === 'string' ? body.code : undefined;
    return base(status, detail, code, errors);
  }
  const fastifyError = error as { statusCode?: number; code?: string; message?: string };
  if (
    typeof fastifyError.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    const status = fastifyError.statusCode;
    const detail =
      status === 413
        ? 'The request body is larger than the limit.'
        : fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'Unsupported content type; send application/json.'
          : fastifyError.code === 'FST_ERR_BAD_URL'
            ? 'The URL is not valid (a malformed percent-encoding).'
            : fastifyError.code === 'FST_ERR_MAX_PARAM_LENGTH'
              ? 'A path parameter is longer than allowed.'
              : status === 400
                ? 'The request body is not valid JSON.'
                : (fastifyError.message ?? 'Bad request');
    return base(status, detail);
  }
  if (isDependencyUnavailable(error)) {
    return base(
      HttpStatus.SERVICE_UNAVAILABLE,
      'A dependency is unavailable; try again shortly.',
      'SERVICE_UNAVAILABLE',
    );
  }
  const sqlState =
    error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
  if (sqlState === '57014') {
    return base(
      HttpStatus.SERVICE_UNAVAILABLE,
      'The database is busy; try again shortly.',
      'SERVICE_UNAVAILABLE',
    );
  }
  // Safety nets behind the validation: what got past it is still the caller's to fix, not a 500.
  if (sqlState === '22003') {
    return base(
      HttpStatus.CONFLICT,
      `The change would take a stored number past its limit (stock levels go up to ${MAX_INT4.toLocaleString('en-US')}).`,
      'VALUE_OUT_OF_RANGE',
    );
  }
  if (sqlState === '23505') {
    return base(HttpStatus.CONFLICT, 'The request duplicates something that already exists.', 'DUPLICATE');
  }
  return base(HttpStatus.INTERNAL_SERVER_ERROR, 'An unexpected error occurred.');
}

export function sendProblem(
  reply: FastifyReply,
  problem: ProblemDetails,
  headers: Record<string, string> = {},
): void {
  if (problem.status === 503) {
    reply.header('retry-after', '5');
  }
  for (const [name, value] of Object.entries(headers)) {
    reply.header(name, value);
  }
  void reply.status(problem.status).type('application/problem+json').send(problem);
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = toProblem(error, request.url);
    if (problem.status >= 500) {
      this.logger.error({ err: error, url: request.url, method: request.method }, 'request failed');
    }
    const retryAfter =
      error instanceof HttpException
        ? (error.getResponse() as { retryAfter?: number }).retryAfter
        : undefined;
    sendProblem(reply, problem, retryAfter ? { 'retry-after': String(retryAfter) } : {});
  }
}
