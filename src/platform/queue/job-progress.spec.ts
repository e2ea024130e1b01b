import { JobProgress, JobProgressReporter } from './job-progress';

/** The coalescing alone, on Jest's fake clock; the writes through BullMQ are in worker.host.spec.ts. */
describe(JobProgressReporter.name, () => {
  let writes: JobProgress[];
  let pending: (() => void)[];

  beforeEach(() => {
    jest.useFakeTimers();
    writes = [];
    pending = [];
  });
  afterEach(() => jest.useRealTimers());

  /** A write that completes only when the test says so, like a Redis round trip in flight. */
  const build = (intervalMs: number) =>
    new JobProgressReporter(
      (value) => {
        writes.push(value);
        return new Promise<void>((resolve) => pending.push(resolve));
      },
      intervalMs,
      () => undefined,
    );
  const completeWrites = async () => {
    pending.splice(0).forEach((resolve) => resolve());
    await jest.advanceTimersByTimeAsync(0);
  };

  it('writes nothing before the job has run one interval, then only the latest report', async () => {
    const sut = build(250);
    for (let done = 1; done <= 100; done++) {
      sut.report({ done });
    }
    await jest.advanceTimersByTimeAsync(249);
    expect(writes).toEqual([]);

    await jest.advanceTimersByTimeAsync(1);
    expect(writes).toEqual([{ done: 100 }]);
  });

  it('keeps one write in flight and at most one per interval; reports meanwhile collapse into the next', async () => {
    const sut = build(100);
    sut.report({ step: 'a' });
    await jest.advanceTimersByTimeAsync(100);
    sut.report({ step: 'b' });
    sut.report({ step: 'c' });
    await jest.advanceTimersByTimeAsync(500);
    expect(writes).toEqual([{ step: 'a' }]);

    await completeWrites();
    await jest.advanceTimersByTimeAsync(100);
    expect(writes).toEqual([{ step: 'a' }, { step: 'c' }]);
  });

  it('on finish, writes the last report only for a job whose progress was already visible', async () => {
    const short = build(100);
    short.report({ step: 'a' });
    const finishedShort = short.finish();
    await completeWrites();
    await finishedShort;
    expect(writes).toEqual([]);

    const slow = build(100);
    slow.report({ step: 'a' });
    await jest.advanceTimersByTimeAsync(100);
    slow.report({ step: 'settled' });
    const finishedSlow = slow.finish();
    await completeWrites();
    await completeWrites();
    await finishedSlow;
    expect(writes).toEqual([{ step: 'a' }, { step: 'settled' }]);
    slow.report({ step: 'late' });
    await jest.advanceTimersByTimeAsync(1000);
    expect(writes).toHaveLength(2);
  });
});
