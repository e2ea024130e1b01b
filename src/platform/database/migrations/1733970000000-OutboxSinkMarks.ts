import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where each event sink (NATS JetStream today, docs/events.md) stands with each outbox event: one row per
 * (event, sink), written by the outbox relay when it claims the event and marked published by the sink's own
 * publisher. A sink that is down keeps its rows pending without holding back the relay or any other sink.
 * The rows go with their event when the outbox is pruned.
 */
export class OutboxSinkMarks1733970000000 implements MigrationInterface {
  name = 'OutboxSinkMarks1733970000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox_sink_marks (
        event_id uuid NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
        sink text NOT NULL,
        event_created_at timestamptz NOT NULL,
        published_at timestamptz,
        attempts int NOT NULL DEFAULT 0,
        available_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        PRIMARY KEY (event_id, sink)
      )`);
    // The sink publisher's claim: its pending rows in event order.
    await q.query(`
      CREATE INDEX outbox_sink_marks_pending ON outbox_sink_marks (sink, event_created_at)
      WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox_sink_marks`);
  }
}
