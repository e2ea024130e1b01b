import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The W3C trace context (`{"traceparent", "tracestate"?}`) of the span that wrote an outbox event, so the
 * relay's publish and the consumer's job join the writer's trace (docs/tracing.md). Null with tracing off:
 * a nullable column without a default is a catalogue change only, no table rewrite.
 */
export class OutboxTraceContext1733400000000 implements MigrationInterface {
  name = 'OutboxTraceContext1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox_events ADD COLUMN trace_context jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox_events DROP COLUMN IF EXISTS trace_context`);
  }
}
