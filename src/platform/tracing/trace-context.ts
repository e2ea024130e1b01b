import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Attributes,
  context,
  Context,
  isSpanContextValid,
  Link,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/**
 * Our side of tracing, on the OpenTelemetry API only (never the SDK: that is loaded by tracing.sdk.ts,
 * and only when OTEL_EXPORTER_OTLP_ENDPOINT is set). Until `markTracingStarted` runs every helper here
 * returns at its first line, so with tracing off the hot paths pay one boolean test and allocate nothing.
 */

/** W3C trace context as it travels in an outbox row (`trace_context`) and in job data (`traceContext`). */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The attributes of our own spans: names are a contract with dashboards and queries (docs/tracing.md). */
export const SPAN_ATTRIBUTES = {
  orderId: 'order.id',
  sagaStep: 'saga.step',
  queueName: 'queue.name',
  jobAttempt: 'job.attempt',
  /** true on a compensation's span. */
  compensation: 'saga.compensation',
} as const;

let started = false;
let tracer = trace.getTracer('async-order-processor');

/** Called once the SDK is registered (tracing.sdk.ts): the helpers start making spans. */
export function markTracingStarted(): void {
  tracer = trace.getTracer('async-order-processor');
  started = true;
}

/** After the SDK shut down (and in tests): the helpers go back to doing nothing. */
export function markTracingStopped(): void {
  started = false;
}

export function tracingStarted(): boolean {
  return started;
}

/** The W3C headers of `ctx` (the active context by default), or undefined when it holds no valid span. */
export function carrierOf(ctx?: Context): TraceCarrier | undefined {
  if (!started) {
    return undefined;
  }
  const from = ctx ?? context.active();
  const span = trace.getSpan(from);
  if (!span || !isSpanContextValid(span.spanContext())) {
    return undefined;
  }
  const headers: Record<string, string> = {};
  propagation.inject(from, headers);
  if (!headers.traceparent) {
    return undefined;
  }
  return headers.tracestate
    ? { traceparent: headers.traceparent, tracestate: headers.tracestate }
    : { traceparent: headers.traceparent };
}

/** The W3C headers that make a span the parent of whatever receives them. */
export function carrierOfSpan(span: Span | undefined): TraceCarrier | undefined {
  return span && started ? carrierOf(trace.setSpan(ROOT_CONTEXT, span)) : undefined;
}

/** The remote context a carrier describes; undefined for none (or tracing off). */
export function contextOf(carrier: TraceCarrier | null | undefined): Context | undefined {
  if (!started || !carrier?.traceparent) {
    return undefined;
  }
  const extracted = propagation.extract(ROOT_CONTEXT, carrier);
  return trace.getSpan(extracted) ? extracted : undefined;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** Defaults to the active context. */
  parent?: Context;
}

/** Starts a span (not made active); a no-op span when tracing is off. */
export function startSpan(name: string, options: SpanOptions = {}): Span {
  if (!started) {
    return trace.wrapSpanContext(INVALID);
  }
  return tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
    options.parent ?? context.active(),
  );
}

/** Runs `fn` inside a new active span, ending it (with the error, if any) when `fn` settles. */
export async function inSpan<T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T> {
  if (!started) {
    return fn();
  }
  const span = startSpan(name, options);
  try {
    return await context.with(trace.setSpan(options.parent ?? context.active(), span), fn);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Runs `fn` with `span` active (a no-op without a span or with tracing off). */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  if (!started || !span) {
    return fn();
  }
  return context.with(trace.setSpan(context.active(), span), fn);
}

export function recordFailure(span: Span, error: unknown): void {
  if (!started) {
    return;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

/** `trace_id` and `span_id` of the active span, for log lines; empty outside a span or with tracing off. */
export function logTraceFields(): { trace_id?: string; span_id?: string } {
  if (!started) {
    return {};
  }
  const span = trace.getSpan(context.active());
  const ids = span?.spanContext();
  return ids && isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}

/**
 * One job can carry several orders (advance-saga-batch, charge-payment-batch). Each order keeps its own
 * trace: the job host records, per order id, the context its spans belong under, and what runs for an
 * order (a saga step, an outbox row it writes, its gateway call) looks it up here instead of taking the
 * batch's active span.
 */
interface OrderTraceScope {
  orders: Map<string, Context>;
  /** `queue.name` and `job.attempt` of the job the scope belongs to, for the spans made inside it. */
  job?: Attributes;
}

const orderTraces = new AsyncLocalStorage<OrderTraceScope>();

/** Runs `fn` with these order contexts (and the job's attributes), on top of the ones already in scope. */
export function runWithOrderTraces<T>(
  entries: Iterable<[string, Context]>,
  fn: () => T,
  job?: Attributes,
): T {
  if (!started) {
    return fn();
  }
  const outer = orderTraces.getStore();
  return orderTraces.run(
    { orders: new Map([...(outer?.orders ?? []), ...entries]), job: job ?? outer?.job },
    fn,
  );
}

export function orderTrace(orderId: string | undefined): Context | undefined {
  if (!started || orderId === undefined) {
    return undefined;
  }
  return orderTraces.getStore()?.orders.get(orderId);
}

/** The attributes of the job running now (none outside a job). */
export function jobAttributes(): Attributes {
  return (started && orderTraces.getStore()?.job) || {};
}

/** Makes `ctx` the order's context in the current scope until the returned function restores it. */
export function pushOrderTrace(orderId: string, ctx: Context): () => void {
  const orders = started ? orderTraces.getStore()?.orders : undefined;
  if (!orders) {
    return () => undefined;
  }
  const previous = orders.get(orderId);
  orders.set(orderId, ctx);
  return () => (previous === undefined ? orders.delete(orderId) : orders.set(orderId, previous));
}

/** Runs `fn` in the order's own context when it has one in scope (a batch job), else unchanged. */
export function inOrderTrace<T>(orderId: string, fn: () => T): T {
  const ctx = orderTrace(orderId);
  return ctx ? context.with(ctx, fn) : fn();
}

const INVALID = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 };
