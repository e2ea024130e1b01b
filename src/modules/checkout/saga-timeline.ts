import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../platform/clock';
import { BusinessMetrics } from '../../platform/metrics/business-metrics';
import { endStepSpan, startStepSpan, StepSpan } from './saga-tracing';
import { SagaRecord, TimelineEntry } from './saga.types';

/** A step (or compensation) under way for one saga: what the timeline entry will say when it ends. */
export interface StepRun {
  step: string;
  phase: TimelineEntry['phase'];
  attempt: number;
  startedAt: string;
  started: number;
  /** Its span (tracing on). */
  traced?: StepSpan;
}

/**
 * Writes the saga's timeline (saga_state.step_history, shown to admins) and the step metrics: one
 * entry per step run, one "waiting" entry per wait rather than one per resume that finds no answer yet.
 */
@Injectable()
export class SagaTimeline {
  private readonly logger = new Logger(SagaTimeline.name);

  constructor(
    private readonly metrics: BusinessMetrics,
    private readonly clock: Clock,
  ) {}

  /** Counts the attempt (saga.data.attempts), starts the clock and the step's span. */
  begin(saga: SagaRecord, step: string, phase: TimelineEntry['phase']): StepRun {
    const key = phase === 'action' ? step : `compensate:${step}`;
    const attempt = (saga.data.attempts[key] = (saga.data.attempts[key] ?? 0) + 1);
    return {
      step,
      phase,
      attempt,
      startedAt: this.clock.now().toISOString(),
      started: performance.now(),
      traced: startStepSpan(saga, step, phase, attempt),
    };
  }

  /** Runs that end without an outcome (the step threw; its transaction rolls back): their spans end as failed. */
  abandon(runs: StepRun[], error: unknown): void {
    runs.forEach((run) => endStepSpan(run.traced, 'aborted', (error as Error)?.message));
  }

  end(saga: SagaRecord, run: StepRun, outcome: TimelineEntry['outcome'], detail?: string): void {
    endStepSpan(run.traced, outcome, detail);
    const entry: TimelineEntry = {
      step: run.step,
      phase: run.phase,
      outcome,
      attempt: run.attempt,
      startedAt: run.startedAt,
      durationMs: Math.round((performance.now() - run.started) * 100) / 100,
      ...(detail === undefined ? {} : { detail }),
    };
    const last = saga.history.at(-1);
    if (
      outcome === 'waiting' &&
      last?.step === entry.step &&
      last.phase === entry.phase &&
      last.outcome === 'waiting'
    ) {
      last.attempt = entry.attempt;
      return;
    }
    saga.history.push(entry);
    this.logger.debug(
      { phase: entry.phase, outcome, attempt: entry.attempt, durationMs: entry.durationMs },
      `saga step ${outcome}`,
    );
    const label = entry.phase === 'action' ? entry.step : `compensate:${entry.step}`;
    this.metrics.sagaStepDuration.observe({ step: label, outcome }, entry.durationMs / 1000);
    if (entry.phase === 'compensation' && outcome === 'completed') {
      this.metrics.sagaCompensations.inc({ step: entry.step });
    }
  }

  /** A failure recorded outside any step run (a compensation parked for an admin). */
  note(saga: SagaRecord, entry: Omit<TimelineEntry, 'startedAt' | 'durationMs'>): void {
    saga.history.push({ ...entry, startedAt: this.clock.now().toISOString(), durationMs: 0 });
  }
}
