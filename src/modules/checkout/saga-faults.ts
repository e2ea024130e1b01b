import { Logger } from '@nestjs/common';
import { AppConfig } from '../../config/config';

/** What a `kill` that returns (a test's) throws: never caught by the runner's one-by-one fallback. */
export class SagaCrash extends Error {}

/**
 * Fault injection for the chaos suite (CRASH_AT=<step>:<before|after>, refused in production): the
 * worker dies like a killed process at that point. `before` dies inside the step's transaction (nothing
 * of it commits); `after` lets the transaction that completed the step commit, then dies.
 */
export class SagaFaultInjector {
  private readonly logger = new Logger(SagaFaultInjector.name);

  constructor(
    readonly crashAt: AppConfig['saga']['crashAt'],
    private readonly kill: () => never = killThisProcess,
  ) {}

  /** `point` is a step name, or `compensate:<step>`. */
  crashBefore(point: string): void {
    if (this.crashAt?.step === point && this.crashAt.when === 'before') {
      this.crash();
    }
  }

  crashesAfter(point: string): boolean {
    return this.crashAt?.step === point && this.crashAt.when === 'after';
  }

  crash(): never {
    this.logger.warn({ crashAt: this.crashAt }, 'CRASH_AT reached: killing the process');
    return this.kill();
  }
}

/** Dies like a killed process: no clean-up, no graceful shutdown. */
function killThisProcess(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}
