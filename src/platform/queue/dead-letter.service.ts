import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../http/domain-error';
import { DeadLetter, DeadLetterStore } from './dead-letter.store';
import { withTimeout } from './with-timeout';
import { QueueRegistry } from './queue.registry';

const ENQUEUE_TIMEOUT_MS = 3000;

/** Replaying and discarding dead letters: each an admin decision, each written to the audit log. */
@Injectable()
export class DeadLetterService {
  private readonly logger = new Logger(DeadLetterService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: DeadLetterStore,
    private readonly queues: QueueRegistry,
  ) {}

  /**
   * Re-enqueues an OPEN letter (optionally with corrected job data) under a new job id derived from
   * the letter, so BullMQ does not take it for the failed original. A letter is replayed once: a
   * second replay is refused (409); if the replay fails again it becomes a new dead letter.
   */
  async replay(id: string, actorId: string, correctedData?: Record<string, unknown>): Promise<DeadLetter> {
    return this.dataSource.transaction(async (tx) => {
      const letter = await this.lockOpen(tx, id);
      const jobId = `${letter.id}-replay-${letter.replayCount + 1}`;
      const data = correctedData ?? letter.payload;
      try {
        await withTimeout(
          this.queues.get(letter.queue).add(letter.jobName, data, { jobId }),
          ENQUEUE_TIMEOUT_MS,
        );
      } catch (error) {
        // Nothing changed in PostgreSQL (the transaction rolls back), so the admin can simply retry.
        this.logger.warn({ deadLetterId: id, err: (error as Error).message }, 'replay could not enqueue');
        throw new ServiceUnavailableError('The queue is unreachable; try the replay again later.');
      }
      await this.store.markReplayed(tx, id, data, jobId);
      await audit(tx, actorId, 'dead_letter.replayed', id, {
        queue: letter.queue,
        jobName: letter.jobName,
        jobId,
        corrected: correctedData !== undefined,
      });
      return {
        ...letter,
        status: 'REPLAYED',
        replayCount: letter.replayCount + 1,
        replayedJobId: jobId,
        payload: data,
      };
    });
  }

  /** Marks an OPEN letter DISCARDED (kept for the record, never deleted) with an audit row. */
  async discard(id: string, actorId: string, reason?: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const letter = await this.lockOpen(tx, id);
      await this.store.markDiscarded(tx, id);
      await audit(tx, actorId, 'dead_letter.discarded', id, {
        queue: letter.queue,
        jobName: letter.jobName,
        jobId: letter.jobId,
        reason: reason ?? null,
      });
    });
  }

  private async lockOpen(tx: EntityManager, id: string): Promise<DeadLetter> {
    const letter = await this.store.find(id, tx, true);
    if (!letter) {
      throw new NotFoundError(`Dead letter ${id} does not exist.`);
    }
    if (letter.status !== 'OPEN') {
      throw new ConflictError(
        `Dead letter ${id} is already ${letter.status.toLowerCase()}.`,
        'DEAD_LETTER_NOT_OPEN',
      );
    }
    return letter;
  }
}

async function audit(
  tx: EntityManager,
  actorId: string,
  action: string,
  subjectId: string,
  details: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `INSERT INTO audit_log (actor_id, action, subject_type, subject_id, details) VALUES ($1, $2, 'dead_letter', $3, $4)`,
    [actorId, action, subjectId, JSON.stringify(details)],
  );
}
