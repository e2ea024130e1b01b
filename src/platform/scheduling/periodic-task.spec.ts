import { eventually } from '../../../test/support/eventually';
import { PeriodicTask, PeriodicTaskOptions } from './periodic-task';

/** A pass the test finishes by hand, to see what the task does while one is in flight. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe(PeriodicTask.name, () => {
  const warnings: unknown[] = [];
  const logger = { warn: (message: unknown) => void warnings.push(message) };
  let sut: PeriodicTask | undefined;
  const task = (options: Omit<PeriodicTaskOptions, 'name' | 'logger'>): PeriodicTask =>
    (sut = new PeriodicTask({ name: 'test task', logger, ...options }));

  beforeEach(() => (warnings.length = 0));
  afterEach(() => sut?.stop());

  describe('passes', () => {
    it('runs pass after pass, the next only once the previous one ended', async () => {
      let inFlight = 0;
      let maxInFlight = 0;
      let passes = 0;
      const gates = [gate(), gate()];
      task({
        intervalMs: 1,
        run: async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await gates[passes]?.wait;
          passes++;
          inFlight--;
        },
      }).start();

      await eventually(() => inFlight === 1, { what: 'the first pass' });
      gates[0].open();
      await eventually(() => passes === 1 && inFlight === 1, { what: 'the second pass' });
      gates[1].open();
      await eventually(() => passes >= 4, { what: 'more passes' });
      expect(maxInFlight).toBe(1);
    });

    it('logs a failed pass and runs again after the retry delay', async () => {
      let calls = 0;
      task({
        intervalMs: 60_000,
        firstDelayMs: 0,
        retryDelayMs: 1,
        run: async () => {
          if (++calls === 1) {
            throw new Error('database down');
          }
        },
      }).start();

      await eventually(() => calls === 2, { what: 'the retried pass' });
      expect(warnings).toEqual([{ task: 'test task', err: 'database down' }]);
    });

    it('with untilSuccess, ends after the first pass that succeeds', async () => {
      let calls = 0;
      const sut = task({
        intervalMs: 1,
        retryDelayMs: 1,
        untilSuccess: true,
        run: async () => {
          if (++calls < 3) {
            throw new Error('redis down');
          }
        },
      });
      sut.start();

      await eventually(() => !sut.isScheduled && calls === 3, { what: 'the successful pass' });
      // Long enough for a fourth pass to have started, had the task gone on.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(calls).toBe(3);
    });
  });

  describe('stop', () => {
    it('waits for the pass in flight and starts no other', async () => {
      const pass = gate();
      let calls = 0;
      let finished = false;
      const sut = task({
        intervalMs: 1,
        firstDelayMs: 0,
        run: async () => {
          calls++;
          await pass.wait;
          finished = true;
        },
      });
      sut.start();
      await eventually(() => calls === 1, { what: 'the pass' });

      const stopping = sut.stop();
      expect(sut.isStopping).toBe(true);
      pass.open();
      await stopping;

      expect(finished).toBe(true);
      expect(sut.isScheduled).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(calls).toBe(1);
    });

    it('before the first pass, cancels it; start() afterwards does nothing', async () => {
      let calls = 0;
      const sut = task({ intervalMs: 1, run: async () => void calls++ });
      sut.start();
      await sut.stop();
      sut.start();

      expect(sut.isScheduled).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(calls).toBe(0);
    });
  });
});
