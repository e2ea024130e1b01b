import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { preparedQuery } from '../database/prepared';
import { currentContext } from '../http/request-context';
import { carrierOf, orderTrace } from '../tracing/trace-context';
import { DomainEventType, EVENT_SCHEMA_VERSIONS, NewDomainEvent } from './domain-events';

/** The channel the relay LISTENs on; NOTIFY inside a transaction is delivered at commit. */
export const OUTBOX_CHANNEL = 'outbox_events';

/**
 * Appends domain events to the outbox inside the caller's transaction, so an event exists exactly
 * when the change it announces does. Never publishes: the relay does, with jobId = event id.
 */
@Injectable()
export class OutboxWriter {
  async append<T extends DomainEventType>(tx: EntityManager, event: NewDomainEvent<T>): Promise<string> {
    const [id] = await this.appendMany(tx, [event]);
    return id;
  }

  async appendMany(tx: EntityManager, events: NewDomainEvent[]): Promise<string[]> {
    if (events.length === 0) {
      return [];
    }
    const correlationId = currentContext()?.correlationId ?? null;
    // The NOTIFY rides in the same statement (one round trip); PostgreSQL delivers it at commit.
    const { rows } = await preparedQuery<{ id: string }>(
      tx,
      `WITH inserted AS (
         INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, schema_version, payload, correlation_id, trace_context)
         SELECT e.aggregate_type, e.aggregate_id, e.event_type, e.schema_version, e.payload, $2, e.trace_context
         FROM jsonb_to_recordset($1::jsonb) AS e(aggregate_type text, aggregate_id uuid, event_type text, schema_version int, payload jsonb, trace_context jsonb)
         RETURNING id
       )
       SELECT id FROM inserted CROSS JOIN (SELECT pg_notify('${OUTBOX_CHANNEL}', '')) AS notified`,
      [
        JSON.stringify(
          events.map((e) => ({
            aggregate_type: e.aggregateType,
            aggregate_id: e.aggregateId,
            event_type: e.type,
            schema_version: EVENT_SCHEMA_VERSIONS[e.type],
            payload: e.payload,
            // The order's own trace when a batch job writes for several orders; absent with tracing off.
            trace_context: carrierOf(orderTrace(orderIdOf(e))),
          })),
        ),
        correlationId,
      ],
    );
    return rows.map((r) => r.id);
  }
}

function orderIdOf(event: NewDomainEvent): string | undefined {
  const payload = event.payload as { orderId?: unknown };
  return typeof payload.orderId === 'string' ? payload.orderId : undefined;
}
