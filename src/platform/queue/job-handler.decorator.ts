import { SetMetadata } from '@nestjs/common';
import { JOBS, QueueName } from './queue-names';

export const JOB_HANDLER = 'queue:job-handler';

export interface JobHandlerMetadata {
  queue: string;
  job: string;
}

export type JobNameOf<Q extends QueueName> = (typeof JOBS)[Q][keyof (typeof JOBS)[Q]];

/**
 * Marks a provider method as THE handler of one job: `(data, job) => Promise<unknown>`. Found at
 * start-up by the job handler registry; workers run only in the worker role.
 *
 *   @JobHandler(QUEUES.orderProcessing, JOBS[QUEUES.orderProcessing].advanceSaga)
 *   advance(data: OutboxJobData<'OrderCreated'>) { ... }
 */
export const JobHandler = <Q extends QueueName>(queue: Q, job: JobNameOf<Q>): MethodDecorator =>
  SetMetadata<string, JobHandlerMetadata>(JOB_HANDLER, { queue, job: job as string });
