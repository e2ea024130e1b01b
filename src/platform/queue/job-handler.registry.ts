import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { JobHandlerFn } from './job-data';
import { JOB_HANDLER, JobHandlerMetadata } from './job-handler.decorator';
import { QueueDefinition } from './queue-options';

export interface RegisteredJobHandler {
  queue: string;
  job: string;
  handler: JobHandlerFn<never>;
  /** Where it came from, for the start-up error message: `OrderWorker.advance`. */
  source: string;
}

export class JobHandlerCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(`Job handlers are not wired correctly:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export const handlerKey = (queue: string, job: string): string => `${queue}/${job}`;

/** Every job of every queue has exactly one handler, and every handler names a known job. */
export function checkJobHandlers(
  definitions: QueueDefinition[],
  handlers: RegisteredJobHandler[],
): Map<string, RegisteredJobHandler> {
  const problems: string[] = [];
  const known = new Set(definitions.flatMap((d) => d.jobs.map((job) => handlerKey(d.name, job))));
  const byKey = new Map<string, RegisteredJobHandler[]>();
  for (const handler of handlers) {
    const key = handlerKey(handler.queue, handler.job);
    if (!known.has(key)) {
      problems.push(`${handler.source} handles "${key}", which is not in queue-names.ts`);
    }
    byKey.set(key, [...(byKey.get(key) ?? []), handler]);
  }
  for (const key of known) {
    const found = byKey.get(key) ?? [];
    if (found.length === 0) {
      problems.push(`no handler for job "${key}"`);
    } else if (found.length > 1) {
      problems.push(`job "${key}" has ${found.length} handlers: ${found.map((h) => h.source).join(', ')}`);
    }
  }
  if (problems.length > 0) {
    throw new JobHandlerCheckError(problems);
  }
  return new Map([...byKey].map(([key, found]) => [key, found[0]]));
}

/**
 * Collects job handlers: methods decorated with `@JobHandler` (found on every provider at start-up)
 * and handlers registered explicitly with `register`.
 */
@Injectable()
export class JobHandlerRegistry {
  private readonly explicit: RegisteredJobHandler[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  register<T>(queue: string, job: string, handler: JobHandlerFn<T>, source = 'registry.register'): void {
    this.explicit.push({ queue, job, handler: handler, source });
  }

  /** Explicit handlers plus decorated provider methods (each provider instance scanned once). */
  collect(): RegisteredJobHandler[] {
    const found: RegisteredJobHandler[] = [...this.explicit];
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (
        !instance ||
        typeof instance !== 'object' ||
        seen.has(instance) ||
        !wrapper.isDependencyTreeStatic()
      ) {
        continue;
      }
      seen.add(instance);
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = (instance as Record<string, unknown>)[method];
        if (typeof fn !== 'function') {
          continue;
        }
        const meta = this.reflector.get<JobHandlerMetadata | undefined>(JOB_HANDLER, fn as () => unknown);
        if (meta) {
          found.push({
            ...meta,
            handler: (fn as JobHandlerFn<never>).bind(instance),
            source: `${instance.constructor.name}.${method}`,
          });
        }
      }
    }
    return found;
  }
}
