import { DataSource } from 'typeorm';
import { InvariantChecker, InvariantReport } from '../../../src/modules/invariants/invariant-checker';
import { ChaosEnv } from './chaos-env';
import { outcomeCounts } from './load';

export interface Verdict {
  recoveryMs: number;
  unsettled: number;
  invariants: InvariantReport;
  /** Violations, and attention rows the scenario did not allow, by check (empty = clean). */
  findings: Record<string, { count: number; rows: unknown[] }>;
  /** Orders per final status once the scenario settled (what the summary line prints). */
  outcomes: Record<string, number>;
}

export interface CheckOptions {
  /** Attention checks this scenario expects to be non-empty (e.g. dead letters a poison job leaves). */
  allowAttention?: string[];
  /** How long an event may wait for the relay; a model check that is the relay itself turns it off. */
  outboxLagSeconds?: number;
}

/**
 * The product's invariant checker with a recovery window of 0: once a scenario has settled, every
 * promise must hold for every order, with nothing left "still moving". Dead letters count from their
 * first second (attention), like parked events and sagas waiting for an operator.
 */
export function checkInvariants(ds: DataSource, options: CheckOptions = {}): Promise<InvariantReport> {
  return new InvariantChecker(ds, {
    recoveryWindowSeconds: 0,
    outboxLagSeconds: options.outboxLagSeconds ?? 5,
    outboxRetentionHours: 168,
    deadLetterAgeSeconds: 0,
    sampleRows: 5,
  }).run();
}

/** Broken promises, and attention rows the scenario did not expect, by check name with their samples. */
export function findings(
  report: InvariantReport,
  options: CheckOptions = {},
): Record<string, { count: number; rows: unknown[] }> {
  return Object.fromEntries(
    report.checks
      .filter(
        (c) =>
          c.count > 0 && (c.severity === 'violation' || !(options.allowAttention ?? []).includes(c.name)),
      )
      .map((c) => [c.name, { count: c.count, rows: c.rows }]),
  );
}

/**
 * The end of every scenario: a recovery window in which all orders must settle, then the invariant
 * check — repeated for a few seconds, since notifications and outbox rows of the last orders may
 * still be on their way when the last order settles.
 */
export async function recoverAndCheck(
  env: ChaosEnv,
  options: CheckOptions & { windowMs: number; orderIds?: string[] },
): Promise<Verdict> {
  const { ms, left } = await env.recover(options.windowMs, options.orderIds);
  const deadline = Date.now() + 15_000;
  let invariants = await checkInvariants(env.ds, options);
  while (Object.keys(findings(invariants, options)).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    invariants = await checkInvariants(env.ds, options);
  }
  return {
    recoveryMs: ms,
    unsettled: left,
    invariants,
    findings: findings(invariants, options),
    outcomes: await outcomeCounts(env),
  };
}

/** The assertion every scenario ends with; the message carries the offending rows. */
export function expectClean(verdict: Verdict): void {
  expect({ unsettled: verdict.unsettled, findings: verdict.findings }).toEqual({
    unsettled: 0,
    findings: {},
  });
}
