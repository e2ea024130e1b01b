import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger, LoggerOptions } from 'pino';
import { AppConfig } from '../../config/config';
import { currentContext } from '../http/request-context';
import { logTraceFields } from '../tracing/trace-context';

/**
 * The process's root pino logger: JSON in production, pretty in development. Every line gets the
 * current request/job context (correlation id, order id, queue, job id, step) through the mixin, and,
 * with tracing on, the `trace_id` and `span_id` of the span it was written in.
 * `destination` (JSON lines) replaces stdout, say for a test that reads what was logged.
 */
export function createRootLogger(
  config: Pick<AppConfig, 'env' | 'log' | 'role'>,
  destination?: DestinationStream,
): Logger {
  const pretty = destination === undefined && config.env === 'development' && process.stdout.isTTY;
  const options: LoggerOptions = {
    level: config.log.level,
    base: { role: config.role },
    mixin: () => ({ ...currentContext(), ...logTraceFields() }),
    redact: {
      paths: [
        'password',
        '*.password',
        'passwordHash',
        '*.passwordHash',
        'refreshToken',
        '*.refreshToken',
        'req.headers.authorization',
      ],
      censor: '[redacted]',
    },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' },
          },
        }
      : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Nest's per-module and per-route start-up lines: useful when debugging, noise otherwise. */
const BOOT_CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory']);

/**
 * Nest's LoggerService on top of pino, so framework messages are structured like ours. Nest passes
 * the logger's context as the last string argument; an object message becomes fields of the line.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(
    level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal',
    message: unknown,
    params: unknown[],
  ): void {
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') {
      fields.context = rest.pop();
    }
    if (level === 'info' && BOOT_CHATTER.has(fields.context as string)) {
      level = 'debug';
    }
    let msg: string | undefined;
    if (message instanceof Error) {
      fields.err = message;
      msg = message.message;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(fields, message);
    } else {
      msg = String(message);
    }
    for (const param of rest) {
      if (param instanceof Error) {
        fields.err = param;
      } else if (typeof param === 'string' && msg === undefined) {
        msg = param;
      } else if (typeof param === 'string') {
        fields.trace = param;
      }
    }
    this.logger[level](fields, msg);
  }
}
