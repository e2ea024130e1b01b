import { DestinationStream } from 'pino';

export type LogLine = Record<string, unknown> & { msg?: string; correlationId?: string };

/** A pino destination that keeps every JSON line in memory, for tests that assert on logs. */
export class LogCapture implements DestinationStream {
  readonly lines: LogLine[] = [];

  write(line: string): void {
    this.lines.push(JSON.parse(line) as LogLine);
  }
}
