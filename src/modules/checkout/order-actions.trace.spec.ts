import { traceOf } from './order-actions.service';

describe('traceOf (the saga timeline’s trace link)', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('names the trace id, and the viewer link when TRACE_VIEW_URL is set', () => {
    expect(traceOf(traceparent, undefined)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    expect(traceOf(traceparent, 'http://localhost:16686/trace/{traceId}?uiFind={traceId}')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      traceUrl:
        'http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736?uiFind=4bf92f3577b34da6a3ce929d0e0e4736',
    });
  });

  it('says nothing without a trace (tracing off when the order was placed)', () => {
    expect(traceOf(undefined, 'http://localhost:16686/trace/{traceId}')).toEqual({});
  });
});
