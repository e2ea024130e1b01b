import { AppConfig } from '../../config/config';
import { moveSaga } from './saga-status';
import { Compensation, SagaRecord, SagaStep } from './saga.types';

export class SagaDefinitionError extends Error {}

/**
 * Refuses, at start-up, a step table that cannot run: no steps, duplicate names, an optional step with a
 * compensation (its failure is ignored, so nothing would undo it), a batch action on an optional step
 * (those run one order at a time, each in a savepoint), or a CRASH_AT that names no step.
 */
export function validateSteps(steps: SagaStep[], crashAt?: AppConfig['saga']['crashAt']): void {
  if (steps.length === 0) {
    throw new SagaDefinitionError('the saga has no steps');
  }
  const names = steps.map((s) => s.name);
  const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicates.length > 0) {
    throw new SagaDefinitionError(`saga steps must have unique names: ${duplicates.join(', ')}`);
  }
  for (const step of steps) {
    if (step.optional && step.compensation) {
      throw new SagaDefinitionError(`step ${step.name} is optional and so must have nothing to compensate`);
    }
    if (step.optional && step.batchAction) {
      throw new SagaDefinitionError(`step ${step.name} is optional and so runs one order at a time`);
    }
  }
  if (crashAt && !names.includes(crashAt.step.replace(/^compensate:/, ''))) {
    throw new SagaDefinitionError(`CRASH_AT names no saga step: ${crashAt.step}`);
  }
}

/**
 * Starts undoing a saga: the completed steps that have a compensation, newest first. The step that was
 * waiting (a charge in flight) is undone too, since its effect may still arrive; the step that just
 * failed is not (it wrote nothing).
 */
export function beginCompensation(
  steps: SagaStep[],
  saga: SagaRecord,
  failure: Omit<Compensation, 'pending'>,
  failedStep?: string,
): void {
  const waiting =
    saga.status === 'WAITING' && saga.currentStep && !saga.data.completed.includes(saga.currentStep)
      ? [saga.currentStep]
      : [];
  const candidates = [...saga.data.completed, ...waiting].filter((name) => name !== failedStep);
  const pending = [...new Set(candidates)]
    .reverse()
    .filter((name) => steps.find((s) => s.name === name)?.compensation);
  saga.data.compensation = { ...failure, pending };
  moveSaga(saga, 'COMPENSATING');
  saga.failureReason = failure.reason;
}
