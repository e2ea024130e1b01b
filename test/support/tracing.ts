import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { markTracingStarted, markTracingStopped } from '../../src/platform/tracing/trace-context';

/**
 * Tracing on inside the test process, every span kept in memory as it ends: for specs of what our own
 * spans look like (the OTLP export itself is the chaos scenario's business, test/chaos/tracing.chaos.ts).
 */
export function startTestTracing(): { spans: () => ReadableSpan[]; stop: () => Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  markTracingStarted();
  return {
    spans: () => exporter.getFinishedSpans(),
    stop: async () => {
      markTracingStopped();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
