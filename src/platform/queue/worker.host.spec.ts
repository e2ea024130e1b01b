import { randomUUID } from 'node:crypto';
import { eventually } from '../../../test/support/eventually';
import { isolatedQueuePrefix } from '../../../test/support/isolation';
import { buildPipeline, Pipeline } from '../../../test/support/pipeline';
import { ConflictError } from '../http/domain-error';
import { currentContext, RequestContext } from '../http/request-context';
import { JobHandlerFn } from './job-data';
import { PermanentJobError, RetryLaterError } from './job-errors';
import { JobHandlerCheckError, RegisteredJobHandler } from './job-handler.registry';
import { QueueDefinition } from './queue-options';
import { WorkerHost } from './worker.host';
import { SpanKind } from '@opentelemetry/api';
import { startTestTracing } from '../../../test/support/tracing';
import { carrierOfSpan, inOrderTrace, orderTrace, startSpan, TraceCarrier } from '../tracing/trace-context';

const JOB_NAMES = ['work'] as const;

function testQueue(name: string): QueueDefinition {
  return {
    name,
    jobs: JOB_NAMES,
    jobOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 10, jitter: 0.5 },
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    },
    worker: { concurrency: 2, lockDuration: 5000, stalledInterval: 5000, maxStalledCount: 1 },
  };
}

describe(WorkerHost.name, () => {
  let sut: Pipeline;
  let queue: string;

  const handlerFor = (fn: JobHandlerFn<Record<string, unknown>>): RegisteredJobHandler[] => [
    { queue, job: 'work', handler: fn, source: 'spec' },
  ];
  const deadLetterOf = async (jobId: string) =>
    (
      await sut.dataSource.query<
        {
          id: string;
          failure_reason: string;
          attempts: number;
          error: string;
          status: string;
        }[]
      >(`SELECT * FROM dead_letters WHERE queue = $1 AND job_id = $2`, [queue, jobId])
    )[0];

  beforeEach(async () => {
    queue = `test-${randomUUID().slice(0, 8)}`;
    sut = await buildPipeline({ QUEUE_PREFIX: isolatedQueuePrefix('workers') }, () => [testQueue(queue)]);
  });
  afterEach(() => sut.close());

  describe('start-up check', () => {
    it('fails when a job has no handler', () => {
      expect(() => sut.workers.start([])).toThrow(JobHandlerCheckError);
      expect(() => sut.workers.start([])).toThrow(`no handler for job "${queue}/work"`);
      expect(sut.workers.running).toBe(false);
    });

    it('fails when a job has two handlers or a handler names an unknown job', () => {
      const fn: JobHandlerFn = async () => undefined;
      const problems = (() => {
        try {
          sut.workers.start([
            { queue, job: 'work', handler: fn, source: 'A.work' },
            { queue, job: 'work', handler: fn, source: 'B.work' },
            { queue, job: 'nope', handler: fn, source: 'C.nope' },
          ]);
        } catch (error) {
          return (error as JobHandlerCheckError).problems;
        }
        return [];
      })();
      expect(problems).toEqual([
        `C.nope handles "${queue}/nope", which is not in queue-names.ts`,
        `job "${queue}/work" has 2 handlers: A.work, B.work`,
      ]);
    });
  });

  describe('running jobs', () => {
    it('gives the handler its data inside a context with correlation id, queue, job id and order id', async () => {
      const seen: { data: unknown; context?: RequestContext }[] = [];
      sut.workers.start(handlerFor(async (data) => seen.push({ data, context: { ...currentContext()! } })));
      const orderId = randomUUID();
      const data = {
        eventId: randomUUID(),
        eventType: 'OrderCreated',
        schemaVersion: 1,
        payload: { orderId, userId: 'u' },
        correlationId: 'corr-1',
        aggregateId: orderId,
      };

      const job = await sut.queues.get(queue).add('work', data, { jobId: data.eventId });
      await eventually(() => seen.length === 1, { what: 'the job handled' });

      expect(seen[0].data).toEqual(data);
      expect(seen[0].context).toEqual({ correlationId: 'corr-1', queue, jobId: job.id, orderId });
      expect(await job.getState()).toBe('completed');
    });

    it('fails a permanent error at once and records a dead letter after one attempt', async () => {
      let calls = 0;
      sut.workers.start(
        handlerFor(async () => {
          calls++;
          throw new PermanentJobError('card declined', 'PAYMENT_DECLINED');
        }),
      );
      const job = await sut.queues.get(queue).add('work', { n: 1 });

      const letter = await eventually(() => deadLetterOf(job.id!), { what: 'the dead letter' });
      expect(letter).toMatchObject({
        failure_reason: 'PERMANENT_FAILURE',
        attempts: 1,
        status: 'OPEN',
        error: 'PAYMENT_DECLINED: card declined',
      });
      await eventually(async () => (await job.getState()) === 'failed', { what: 'the job failed' });
      expect(calls).toBe(1);
    });

    it('retries a transient error with backoff, then records a dead letter after the last attempt', async () => {
      let calls = 0;
      sut.workers.start(
        handlerFor(async () => {
          calls++;
          throw new Error('gateway timeout');
        }),
      );
      const job = await sut.queues.get(queue).add('work', { n: 2 });

      const letter = await eventually(() => deadLetterOf(job.id!), { what: 'the dead letter' });
      expect(letter).toMatchObject({
        failure_reason: 'ATTEMPTS_EXHAUSTED',
        attempts: 3,
        error: 'gateway timeout',
      });
      expect(calls).toBe(3);
      const metrics = await sut.metrics.registry.getSingleMetricAsString('aop_jobs_total');
      expect(metrics).toContain(`aop_jobs_total{queue="${queue}",job="work",outcome="retried"} 2`);
      expect(metrics).toContain(`aop_jobs_total{queue="${queue}",job="work",outcome="failed"} 1`);
    });

    it('puts a job back for later on RetryLaterError without spending its attempts', async () => {
      let calls = 0;
      const delays: number[] = [];
      let lastCall = 0;
      sut.workers.start(
        handlerFor(async () => {
          const now = Date.now();
          if (lastCall > 0) {
            delays.push(now - lastCall);
          }
          lastCall = now;
          // More "later"s than the queue's 3 attempts: none of them may count as one.
          if (++calls <= 4) {
            throw new RetryLaterError('circuit open', 150);
          }
        }),
      );
      const job = await sut.queues.get(queue).add('work', { n: 3 });

      await eventually(async () => (await job.getState()) === 'completed', { what: 'the job completed' });
      expect(calls).toBe(5);
      expect(delays.every((d) => d >= 150)).toBe(true);
      expect(await deadLetterOf(job.id!)).toBeUndefined();
      const metrics = await sut.metrics.registry.getSingleMetricAsString('aop_jobs_total');
      expect(metrics).toContain(`aop_jobs_total{queue="${queue}",job="work",outcome="delayed"} 4`);
      expect(metrics).toContain(`aop_jobs_total{queue="${queue}",job="work",outcome="completed"} 1`);
    });

    it('puts a job back without spending an attempt while the database cannot be reached (an outage, a failover)', async () => {
      let calls = 0;
      sut.workers.start(
        handlerFor(async () => {
          // What PgBouncer answers while its server is gone, then a refused connection: five outages in a
          // row, more than the queue's 3 attempts, and the job still completes.
          if (++calls <= 5) {
            throw Object.assign(new Error(calls % 2 ? 'server conn crashed?' : 'connect ECONNREFUSED'), {
              code: calls % 2 ? '08P01' : 'ECONNREFUSED',
            });
          }
        }),
      );
      const job = await sut.queues.get(queue).add('work', { n: 4 });

      await eventually(async () => (await job.getState()) === 'completed', { what: 'the job completed' });
      expect(calls).toBe(6);
      expect(await deadLetterOf(job.id!)).toBeUndefined();
      const metrics = await sut.metrics.registry.getSingleMetricAsString('aop_jobs_total');
      expect(metrics).toContain(`aop_jobs_total{queue="${queue}",job="work",outcome="delayed"} 5`);
    });

    it('on close, stops taking jobs and lets the active one finish', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started = false;
      sut.workers.start(
        handlerFor(async () => {
          started = true;
          await gate;
        }),
      );
      const job = await sut.queues.get(queue).add('work', {});
      await eventually(() => started, { what: 'the job started' });

      const closing = sut.workers.close();
      release();
      await closing;
      expect(await job.getState()).toBe('completed');
    });
  });

  describe('job progress', () => {
    /** Progress writes Redis saw for a job: its queue's event stream has one `progress` entry per write. */
    async function progressWrites(jobId: string): Promise<unknown[]> {
      const entries = await sut.queues.connection.xrange(
        `${sut.config.queue.prefix}:${queue}:events`,
        '-',
        '+',
      );
      return entries.flatMap(([, fields]) => {
        const map = new Map<string, string>();
        for (let i = 0; i < fields.length; i += 2) {
          map.set(fields[i], fields[i + 1]);
        }
        return map.get('event') === 'progress' && map.get('jobId') === jobId
          ? [JSON.parse(map.get('data') ?? 'null')]
          : [];
      });
    }

    async function withInterval(ms: string): Promise<void> {
      await sut.close();
      sut = await buildPipeline(
        { QUEUE_PREFIX: isolatedQueuePrefix('workers'), QUEUE_PROGRESS_INTERVAL_MS: ms },
        () => [testQueue(queue)],
      );
    }

    it("shows a slow job's latest step through the queue API while it runs, and its last one when done", async () => {
      await withInterval('50');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      sut.workers.start(
        handlerFor(async (_data, job) => {
          job.progress({ step: 'reserve', orders: 10, done: 0 });
          job.progress({ step: 'charge', orders: 10, done: 4 });
          await released;
          job.progress({ step: 'settled', orders: 10, done: 10 });
        }),
      );
      const added = await sut.queues.get(queue).add('work', { n: 1 });

      const running = await eventually(
        async () => {
          const job = await sut.queues.get(queue).getJob(added.id!);
          return (
            job && (await job.getState()) === 'active' && typeof job.progress === 'object' && job.progress
          );
        },
        { what: 'the progress of the running job' },
      );
      expect(running).toEqual({ step: 'charge', orders: 10, done: 4, attempt: 1 });
      release();
      await eventually(async () => (await added.getState()) === 'completed', { what: 'the job completed' });
      expect((await sut.queues.get(queue).getJob(added.id!))?.progress).toEqual({
        step: 'settled',
        orders: 10,
        done: 10,
        attempt: 1,
      });
    });

    it('coalesces: a batch reporting once per item writes once per interval, and a short job writes nothing', async () => {
      await withInterval('500');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      sut.workers.start(
        handlerFor(async (data, job) => {
          for (let done = 0; done <= 1000; done++) {
            job.progress({ step: 'charging', orders: 1000, done });
          }
          if (data.slow) {
            await released;
          }
        }),
      );
      const short = await sut.queues.get(queue).add('work', { slow: false });
      await eventually(async () => (await short.getState()) === 'completed', { what: 'the short job' });
      expect(await progressWrites(short.id!)).toEqual([]);

      const slow = await sut.queues.get(queue).add('work', { slow: true });
      await eventually(async () => (await progressWrites(slow.id!)).length === 1, {
        what: 'one progress write',
      });
      release();
      await eventually(async () => (await slow.getState()) === 'completed', { what: 'the slow job' });
      expect(await progressWrites(slow.id!)).toEqual([
        { step: 'charging', orders: 1000, done: 1000, attempt: 1 },
      ]);
    });

    it('a job run again after a failure reports its new attempt from where that attempt starts', async () => {
      await withInterval('0');
      const checkpoint = { completed: 0 };
      sut.workers.start(
        handlerFor(async (_data, job) => {
          // Like the saga: work resumes after what the last run committed.
          for (let step = checkpoint.completed + 1; step <= 3; step++) {
            job.progress({ step: `step-${step}` });
            await new Promise((resolve) => setTimeout(resolve, 20));
            if (step === 2 && job.attemptsMade === 0) {
              throw new Error('worker died');
            }
            checkpoint.completed = step;
          }
        }),
      );
      const added = await sut.queues.get(queue).add('work', { n: 3 });
      await eventually(async () => (await added.getState()) === 'completed', { what: 'the job completed' });

      const writes = (await progressWrites(added.id!)) as { step: string; attempt: number }[];
      expect(writes.filter((w) => w.attempt === 2).map((w) => w.step)).toEqual(['step-2', 'step-3']);
      expect(writes.filter((w) => w.attempt === 1).map((w) => w.step)).toEqual(['step-1', 'step-2']);
    });
  });

  describe('dead-letter replay', () => {
    it('replays a dead letter once, with corrected data, and refuses a second replay', async () => {
      const processed: unknown[] = [];
      sut.workers.start(
        handlerFor(async (data) => {
          if (data.valid !== true) {
            throw new PermanentJobError('invalid data');
          }
          processed.push(data);
        }),
      );
      const job = await sut.queues.get(queue).add('work', { valid: false });
      const letter = await eventually(() => deadLetterOf(job.id!), { what: 'the dead letter' });
      const admin = randomUUID();

      const replayed = await sut.deadLetterService.replay(letter.id, admin, { valid: true });
      expect(replayed).toMatchObject({
        status: 'REPLAYED',
        replayCount: 1,
        replayedJobId: `${letter.id}-replay-1`,
      });
      await eventually(() => processed.length === 1, { what: 'the replay processed' });
      await expect(sut.deadLetterService.replay(letter.id, admin)).rejects.toThrow(ConflictError);

      const replayJob = await sut.queues.get(queue).getJob(`${letter.id}-replay-1`);
      expect(await replayJob!.getState()).toBe('completed');
      expect(processed).toEqual([{ valid: true }]);
      const [audit] = await sut.dataSource.query<
        {
          action: string;
          actor_id: string;
        }[]
      >(`SELECT action, actor_id FROM audit_log WHERE subject_id = $1`, [letter.id]);
      expect(audit).toEqual({ action: 'dead_letter.replayed', actor_id: admin });
    });
  });

  describe('tracing (on)', () => {
    let tracing: ReturnType<typeof startTestTracing>;
    beforeEach(() => (tracing = startTestTracing()));
    afterEach(() => tracing.stop());

    /** A span standing for the relay's publish of one event, in a trace of its own. */
    const published = (): { traceId: string; spanId: string; carrier: TraceCarrier } => {
      const span = startSpan('publish');
      span.end();
      return { ...span.spanContext(), carrier: carrierOfSpan(span)! };
    };
    const eventOf = (orderId: string, traceContext: TraceCarrier) => ({
      eventId: randomUUID(),
      eventType: 'OrderCreated',
      schemaVersion: 1,
      payload: { orderId, userId: 'u' },
      correlationId: null,
      aggregateId: orderId,
      traceContext,
      jobId: randomUUID(),
    });

    it('gives each attempt its own span, a child of the publish span the job data carries', async () => {
      const publish = published();
      const orderId = randomUUID();
      let calls = 0;
      sut.workers.start(
        handlerFor(async () => {
          if (++calls === 1) {
            throw new Error('flaky');
          }
        }),
      );

      const job = await sut.queues.get(queue).add('work', eventOf(orderId, publish.carrier));
      await eventually(async () => (await job.getState()) === 'completed' || undefined, { what: 'retried' });

      const attempts = tracing.spans().filter((s) => s.name === `process ${queue}`);
      expect(attempts.map((s) => s.attributes['job.attempt'])).toEqual([1, 2]);
      for (const span of attempts) {
        expect(span.kind).toBe(SpanKind.CONSUMER);
        expect(span.spanContext().traceId).toBe(publish.traceId);
        expect(span.parentSpanContext?.spanId).toBe(publish.spanId);
        expect(span.attributes).toMatchObject({ 'queue.name': queue, 'order.id': orderId });
      }
      expect(attempts[0].status.code).toBe(2);
    });

    it('leaves a job that carries no trace context untraced (a schedule would be a trace per run)', async () => {
      sut.workers.start(handlerFor(async () => undefined));

      const job = await sut.queues.get(queue).add('work', { every: 'second' });
      await eventually(async () => (await job.getState()) === 'completed' || undefined, { what: 'done' });

      expect(tracing.spans()).toEqual([]);
    });

    it('a batch job: each order gets a span in its own trace, linked to the batch span', async () => {
      const [a, b] = [published(), published()];
      const [orderA, orderB] = [randomUUID(), randomUUID()];
      const seen: Record<string, string | undefined> = {};
      sut.workers.start(
        handlerFor(async () => {
          for (const orderId of [orderA, orderB]) {
            // What a saga step or a gateway call does for one order of the batch.
            inOrderTrace(orderId, () => startSpan(`work for ${orderId}`).end());
            seen[orderId] = orderTrace(orderId) && 'in scope';
          }
        }),
      );

      const job = await sut.queues
        .get(queue)
        .add('work', { events: [eventOf(orderA, a.carrier), eventOf(orderB, b.carrier)] });
      await eventually(async () => (await job.getState()) === 'completed' || undefined, { what: 'done' });

      const spans = tracing.spans();
      const batch = spans.find((s) => s.name === `process ${queue}`)!;
      expect(batch.parentSpanContext).toBeUndefined();
      expect(batch.links.map((l) => l.context.traceId).sort()).toEqual([a.traceId, b.traceId].sort());
      for (const [orderId, publish] of [
        [orderA, a],
        [orderB, b],
      ] as const) {
        const member = spans.find(
          (s) => s.name === `process ${queue} (batch member)` && s.attributes['order.id'] === orderId,
        )!;
        expect(member.spanContext().traceId).toBe(publish.traceId);
        expect(member.parentSpanContext?.spanId).toBe(publish.spanId);
        expect(member.links.map((l) => l.context.spanId)).toEqual([batch.spanContext().spanId]);
        expect(member.attributes).toMatchObject({ 'queue.name': queue, 'job.attempt': 1 });
        const work = spans.find((s) => s.name === `work for ${orderId}`)!;
        expect(work.parentSpanContext?.spanId).toBe(member.spanContext().spanId);
        expect(seen[orderId]).toBe('in scope');
      }
    });
  });
});
