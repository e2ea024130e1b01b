import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxStore, ReplayFilter } from './outbox.store';
import { OUTBOX_CHANNEL } from './outbox.writer';

/**
 * Replay for recovery (say, after Redis lost its data): the selected events go back through the relay
 * under new job ids, keeping their event ids, so idempotent consumers skip what they already did.
 */
@Injectable()
export class OutboxReplayService {
  private readonly logger = new Logger(OutboxReplayService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: OutboxStore,
  ) {}

  async replay(filter: ReplayFilter, actorId: string): Promise<string[]> {
    const ids = await this.dataSource.transaction(async (tx) => {
      const scheduled = await this.store.scheduleReplay(tx, filter);
      await tx.query(
        `INSERT INTO audit_log (actor_id, action, subject_type, subject_id, details)
         VALUES ($1, 'outbox.replayed', 'outbox', $2, $3)`,
        [actorId, filter.aggregateId ?? null, JSON.stringify({ ...filter, events: scheduled.length })],
      );
      await tx.query(`SELECT pg_notify('${OUTBOX_CHANNEL}', '')`);
      return scheduled;
    });
    this.logger.log({ events: ids.length, filter }, 'outbox events scheduled for replay');
    return ids;
  }
}
