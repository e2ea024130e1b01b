import { Injectable, Logger } from '@nestjs/common';
import { describeError } from './job-errors';
import { OutboxBatchJobData } from './job-data';
import { QueueRegistry } from './queue.registry';

/**
 * Gives the events of a batch job that could not be handled back to their queue as the jobs they would
 * have been on their own (same name, data and job id), so each retries with its own backoff and lands in
 * its own dead letter. A retried batch hands the same events off again: their job ids make that a no-op.
 */
@Injectable()
export class BatchHandOff {
  private readonly logger = new Logger(BatchHandOff.name);

  constructor(private readonly queues: QueueRegistry) {}

  async handOff(
    queue: string,
    job: string,
    events: OutboxBatchJobData['events'],
    errors: ReadonlyMap<string, unknown> = new Map(),
  ): Promise<void> {
    if (events.length === 0) {
      return;
    }
    for (const { eventId, aggregateId } of events) {
      this.logger.warn(
        { eventId, aggregateId, err: errors.has(eventId) ? describeError(errors.get(eventId)) : undefined },
        'event of a batch job handed off to a job of its own',
      );
    }
    await this.queues
      .get(queue)
      .addBulk(events.map(({ jobId, ...data }) => ({ name: job, data, opts: { jobId } })));
  }
}
