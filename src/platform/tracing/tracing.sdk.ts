import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  Sampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import FastifyOtelInstrumentation from '@fastify/otel';
import { AppConfig } from '../../config/config';
import { markTracingStarted, markTracingStopped } from './trace-context';

/** Requests that would only add noise: scrapes and probes arrive every few seconds. */
const UNTRACED_PATHS = /^\/(metrics|api\/v1\/health)(\/|\?|$)/;

/**
 * Starts the OpenTelemetry SDK: loaded (by main.ts, with a dynamic import) only when an OTLP endpoint is
 * configured, and before anything loads pg, ioredis, http or Fastify, which the instrumentations patch as
 * they are required. pg and ioredis spans are only made inside a trace (a request, a job, a saga step):
 * BullMQ's polling and the relay's idle rounds would otherwise each make a trace of their own.
 * Returns the shutdown that flushes the spans still buffered.
 */
export function startTracing(config: Pick<AppConfig, 'tracing' | 'role'>): { shutdown: () => Promise<void> } {
  const { tracing } = config;
  const exporter =
    tracing.protocol === 'http/json'
      ? new OtlpJsonExporter({ url: tracing.tracesUrl })
      : new OtlpProtobufExporter({ url: tracing.tracesUrl });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: tracing.serviceName,
      'aop.role': config.role,
      'process.pid': process.pid,
    }),
    sampler: samplerOf(tracing.sampler, tracing.samplerArg),
    // OTEL_BSP_SCHEDULE_DELAY and the other standard batch settings apply (read by the SDK).
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? ''),
        requireParentforOutgoingSpans: true,
      }),
      new FastifyOtelInstrumentation({ registerOnInitialization: true }),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  markTracingStarted();
  return {
    shutdown: async () => {
      markTracingStopped();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

function samplerOf(name: AppConfig['tracing']['sampler'], ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
