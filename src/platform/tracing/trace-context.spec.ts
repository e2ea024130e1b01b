import { context, trace } from '@opentelemetry/api';
import { startTestTracing } from '../../../test/support/tracing';
import {
  carrierOf,
  contextOf,
  inSpan,
  logTraceFields,
  orderTrace,
  pushOrderTrace,
  runWithOrderTraces,
  startSpan,
} from './trace-context';

describe('trace-context', () => {
  describe('with tracing off (no SDK)', () => {
    it('does nothing: no carrier, no log fields, no span, no order scope', async () => {
      expect(carrierOf()).toBeUndefined();
      expect(
        contextOf({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
      ).toBeUndefined();
      expect(await inSpan('x', {}, async () => logTraceFields())).toEqual({});
      expect(startSpan('x').isRecording()).toBe(false);
      expect(runWithOrderTraces([['o', context.active()]], () => orderTrace('o'))).toBeUndefined();
    });
  });

  describe('with tracing on', () => {
    let tracing: ReturnType<typeof startTestTracing>;
    beforeEach(() => (tracing = startTestTracing()));
    afterEach(() => tracing.stop());

    it('carries the active span as W3C traceparent, and back to a parent context', async () => {
      await inSpan('writer', {}, async () => {
        const carrier = carrierOf()!;
        const ids = trace.getActiveSpan()!.spanContext();
        expect(carrier.traceparent).toBe(`00-${ids.traceId}-${ids.spanId}-01`);
        const child = startSpan('consumer', { parent: contextOf(carrier) });
        child.end();
        expect(child.spanContext().traceId).toBe(ids.traceId);
        expect(logTraceFields()).toEqual({ trace_id: ids.traceId, span_id: ids.spanId });
      });
      expect(logTraceFields()).toEqual({});
      expect(tracing.spans().map((s) => s.name)).toEqual(['consumer', 'writer']);
    });

    it('records a failure on the span and rethrows it', async () => {
      await expect(
        inSpan('failing', {}, async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const [span] = tracing.spans();
      expect(span.status).toEqual({ code: 2, message: 'boom' });
      expect(span.events.map((e) => e.name)).toEqual(['exception']);
    });

    it('keeps one context per order in a scope, restored after a step', () => {
      const a = trace.setSpan(context.active(), startSpan('a'));
      const step = trace.setSpan(context.active(), startSpan('step'));
      runWithOrderTraces([['order-1', a]], () => {
        const restore = pushOrderTrace('order-1', step);
        expect(orderTrace('order-1')).toBe(step);
        restore();
        expect(orderTrace('order-1')).toBe(a);
        expect(orderTrace('order-2')).toBeUndefined();
      });
      expect(orderTrace('order-1')).toBeUndefined();
    });
  });
});
