import { context, Link, Span, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  carrierOf,
  contextOf,
  jobAttributes,
  orderTrace,
  pushOrderTrace,
  SPAN_ATTRIBUTES,
  startSpan,
  tracingStarted,
} from '../../platform/tracing/trace-context';
import { SagaRecord, TimelineEntry } from './saga.types';

/** A step's (or compensation's) span, and how to hand the order's context back when it ends. */
export interface StepSpan {
  span: Span;
  restore: () => void;
}

/**
 * Opens the span of one saga step run for one order: a child of that order's job span (its own one in a
 * batch job), or, resumed outside any job (recovery), of the context the saga kept from its first run
 * (saga_state.data.traceContext), so a resumed saga stays in its order's trace. While it is open it is the
 * order's context: the outbox rows the step writes carry it. None with tracing off.
 */
export function startStepSpan(
  saga: SagaRecord,
  step: string,
  phase: TimelineEntry['phase'],
  stepAttempt: number,
): StepSpan | undefined {
  if (!tracingStarted()) {
    return undefined;
  }
  const first = contextOf(saga.data.traceContext);
  const parent = orderTrace(saga.orderId) ?? first ?? context.active();
  saga.data.traceContext ??= carrierOf(parent);
  const firstSpan = first && trace.getSpanContext(first);
  // A cancellation is its own request, so its compensations are in its trace: linked to the order's.
  const links: Link[] =
    firstSpan && firstSpan.traceId !== trace.getSpanContext(parent)?.traceId ? [{ context: firstSpan }] : [];
  const compensation = phase === 'compensation';
  const span = startSpan(compensation ? `saga compensate ${step}` : `saga ${step}`, {
    parent,
    links,
    attributes: {
      ...jobAttributes(),
      [SPAN_ATTRIBUTES.orderId]: saga.orderId,
      [SPAN_ATTRIBUTES.sagaStep]: step,
      [SPAN_ATTRIBUTES.compensation]: compensation,
      'saga.step.attempt': stepAttempt,
    },
  });
  return { span, restore: pushOrderTrace(saga.orderId, trace.setSpan(parent, span)) };
}

export function endStepSpan(
  traced: StepSpan | undefined,
  outcome: TimelineEntry['outcome'] | 'aborted',
  detail?: string,
): void {
  if (!traced) {
    return;
  }
  traced.span.setAttribute('saga.outcome', outcome);
  if (outcome === 'failed' || outcome === 'aborted') {
    traced.span.setStatus({ code: SpanStatusCode.ERROR, message: detail });
  }
  traced.span.end();
  traced.restore();
}
