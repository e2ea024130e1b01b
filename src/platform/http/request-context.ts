import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * What every log line of one order's journey carries. Set per HTTP request, per outbox batch and per
 * job; read by the logger's mixin, so no call site has to pass it along.
 */
export interface RequestContext {
  correlationId: string;
  orderId?: string;
  userId?: string;
  queue?: string;
  jobId?: string;
  step?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Adds fields (say, the order id once it is known) to the context of the current request or job. */
export function enrichContext(fields: Partial<RequestContext>): void {
  const store = storage.getStore();
  if (store) {
    Object.assign(store, fields);
  }
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a caller's id only when it is short and harmless in a header and a log line. */
export function correlationIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SAFE_ID.test(value) ? value : randomUUID();
}
