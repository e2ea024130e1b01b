import { ChaosEnv } from './chaos-env';
import { checkInvariants, InvariantName, InvariantReport } from './invariants';

export interface Verdict {
  recoveryMs: number;
  unsettled: number;
  invariants: InvariantReport;
}

/**
 * The end of every scenario: a recovery window in which all orders must settle, then the invariant
 * check — repeated for a few seconds, since notifications and outbox rows of the last orders may
 * still be on their way when the last order settles.
 */
export async function recoverAndCheck(
  env: ChaosEnv,
  options: { windowMs: number; orderIds?: string[]; skip?: InvariantName[] },
): Promise<Verdict> {
  const { ms, left } = await env.recover(options.windowMs, options.orderIds);
  const deadline = Date.now() + 15_000;
  let invariants = await checkInvariants(env.ds, { skip: options.skip });
  while (invariants.violations > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    invariants = await checkInvariants(env.ds, { skip: options.skip });
  }
  return { recoveryMs: ms, unsettled: left, invariants };
}

/** The assertion every scenario ends with; the message carries the offending rows. */
export function expectClean(verdict: Verdict): void {
  expect({
    unsettled: verdict.unsettled,
    violations: verdict.invariants.violations,
    samples: verdict.invariants.samples,
  }).toEqual({
    unsettled: 0,
    violations: 0,
    samples: {},
  });
}
