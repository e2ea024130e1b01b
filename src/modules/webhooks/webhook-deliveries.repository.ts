import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { preparedQuery, SqlExecutor } from '../../platform/database/prepared';
import { OrderSnapshot } from './webhook-events';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'discarded';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed', 'discarded'];

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  messageId: string;
  status: DeliveryStatus;
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastResponseBody: string | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
}

/** A delivery leased for one attempt, with what sending it needs. */
export interface LeasedDelivery {
  id: string;
  endpointId: string;
  messageId: string;
  eventType: string;
  body: string;
  attempts: number;
  maxAttempts: number;
  url: string;
  endpointStatus: string;
  sealedSecret: string;
  sealedPreviousSecret: string | null;
}

export interface NewDeliveryEvent {
  eventId: string;
  eventType: string;
  messageId: string;
  body: string;
}

export interface AttemptRecord {
  status: DeliveryStatus;
  /** When the next attempt is due (status pending). */
  nextAttemptAt: Date | null;
  statusCode: number | null;
  latencyMs: number;
  responseBody: string | null;
  error: string | null;
}

const COLUMNS = `id, endpoint_id AS "endpointId", event_id AS "eventId", event_type AS "eventType",
  message_id AS "messageId", status, attempts, max_attempts AS "maxAttempts",
  CASE WHEN status = 'pending' THEN next_attempt_at END AS "nextAttemptAt",
  last_status_code AS "lastStatusCode", last_latency_ms AS "lastLatencyMs",
  last_response_body AS "lastResponseBody", last_error AS "lastError", last_attempt_at AS "lastAttemptAt",
  completed_at AS "completedAt", created_at AS "createdAt"`;

/**
 * The delivery rows: the source of truth of every attempt and retry. BullMQ jobs only carry a lease
 * (`lease_token`) on one attempt; a lost job (a killed worker) is re-claimed when its lease runs out.
 */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The event types some enabled endpoint subscribes to (a small table: read on every fan-out). */
  async subscribedTypes(): Promise<Set<string>> {
    const { rows } = await preparedQuery<{ type: string }>(
      this.dataSource,
      `SELECT DISTINCT unnest(events) AS type FROM webhook_endpoints WHERE status = 'enabled'`,
      [],
    );
    return new Set(rows.map((r) => r.type));
  }

  /** The order fields an event body carries (read at fan-out; orders owns the table, we only read it). */
  async orderSnapshots(orderIds: string[]): Promise<Map<string, OrderSnapshot>> {
    const { rows } = await preparedQuery<OrderSnapshot>(
      this.dataSource,
      `SELECT id, user_id AS "userId", total_amount::text AS "totalAmount", currency, created_at AS "createdAt",
              tracking_number AS "trackingNumber"
       FROM orders WHERE id = ANY($1::uuid[])`,
      [orderIds],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * One delivery per (enabled endpoint subscribed to the type, event): idempotent through the unique
   * (endpoint_id, event_id) index, so a re-delivered fan-out job adds nothing.
   */
  async fanOut(events: NewDeliveryEvent[], maxAttempts: number): Promise<number> {
    if (events.length === 0) {
      return 0;
    }
    const { rowCount } = await preparedQuery(
      this.dataSource,
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, message_id, body, max_attempts)
       SELECT e.id, ev.event_id, ev.event_type, ev.message_id, ev.body, $2
       FROM jsonb_to_recordset($1::jsonb) AS ev(event_id uuid, event_type text, message_id text, body text)
       JOIN webhook_endpoints e ON e.status = 'enabled' AND ev.event_type = ANY(e.events)
       ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
      [
        JSON.stringify(
          events.map((e) => ({
            event_id: e.eventId,
            event_type: e.eventType,
            message_id: e.messageId,
            body: e.body,
          })),
        ),
        maxAttempts,
      ],
    );
    return rowCount;
  }

  /** A delivery to one endpoint only (the test event), due now. */
  async insertOne(
    endpointId: string,
    event: NewDeliveryEvent,
    maxAttempts: number,
  ): Promise<WebhookDelivery> {
    const { rows } = await preparedQuery<WebhookDelivery>(
      this.dataSource,
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, message_id, body, max_attempts)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [endpointId, event.eventId, event.eventType, event.messageId, event.body, maxAttempts],
    );
    return rows[0];
  }

  /**
   * Leases due deliveries for one attempt each, at most `perEndpoint` in flight per endpoint (counting
   * leases already out), oldest due first. Runs under a transaction-level advisory lock, so claimers on
   * several workers never overshoot an endpoint's share. `eventIds` narrows it to the given events.
   */
  async claimDue(options: {
    perEndpoint: number;
    limit: number;
    leaseSeconds: number;
    eventIds?: string[];
  }): Promise<{ id: string; leaseToken: string }[]> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('webhook-deliveries-claim'))`);
      const { rows } = await preparedQuery<{ id: string; leaseToken: string }>(
        tx,
        `WITH in_flight AS (
           SELECT endpoint_id, count(*) AS n FROM webhook_deliveries
           WHERE status = 'pending' AND leased_until > now() GROUP BY endpoint_id
         ), due AS (
           SELECT d.id, d.next_attempt_at,
                  row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id)
                    + coalesce(f.n, 0) AS slot
           FROM webhook_deliveries d
           JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.status = 'enabled'
           LEFT JOIN in_flight f ON f.endpoint_id = d.endpoint_id
           WHERE d.status = 'pending' AND d.next_attempt_at <= now()
             AND (d.leased_until IS NULL OR d.leased_until <= now())
             AND ($4::uuid[] IS NULL OR d.event_id = ANY($4::uuid[]))
         ), picked AS (
           SELECT id FROM due WHERE slot <= $1 ORDER BY next_attempt_at LIMIT $2
         )
         UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => $3),
           lease_token = gen_random_uuid()
         FROM picked WHERE d.id = picked.id
         RETURNING d.id, d.lease_token AS "leaseToken"`,
        [options.perEndpoint, options.limit, options.leaseSeconds, options.eventIds ?? null],
      );
      return rows;
    });
  }

  /** The delivery if this lease is still its own (a re-claimed or finished one answers nothing). */
  async findLeased(id: string, leaseToken: string): Promise<LeasedDelivery | undefined> {
    const { rows } = await preparedQuery<LeasedDelivery>(
      this.dataSource,
      `SELECT d.id, d.endpoint_id AS "endpointId", d.message_id AS "messageId", d.event_type AS "eventType",
              d.body, d.attempts, d.max_attempts AS "maxAttempts", e.url, e.status AS "endpointStatus",
              e.secret_ciphertext AS "sealedSecret",
              CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_ciphertext END AS "sealedPreviousSecret"
       FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
       WHERE d.id = $1 AND d.lease_token = $2 AND d.status = 'pending'`,
      [id, leaseToken],
    );
    return rows[0];
  }

  /** Records one attempt and ends the lease; false when the lease was no longer ours (nothing written). */
  async recordAttempt(
    executor: SqlExecutor,
    id: string,
    leaseToken: string,
    record: AttemptRecord,
  ): Promise<boolean> {
    const { rowCount } = await preparedQuery(
      executor,
      `UPDATE webhook_deliveries SET attempts = attempts + 1, status = $3,
         next_attempt_at = coalesce($4, next_attempt_at), last_status_code = $5, last_latency_ms = $6,
         last_response_body = $7, last_error = $8, last_attempt_at = now(),
         completed_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END,
         leased_until = NULL, lease_token = NULL
       WHERE id = $1 AND lease_token = $2 AND status = 'pending'`,
      [
        id,
        leaseToken,
        record.status,
        record.nextAttemptAt,
        record.statusCode,
        record.latencyMs,
        record.responseBody,
        record.error,
      ],
    );
    return rowCount > 0;
  }

  /** Gives a lease back untouched (the endpoint was disabled meanwhile): the row is due again as it was. */
  async releaseLease(id: string, leaseToken: string): Promise<void> {
    await preparedQuery(
      this.dataSource,
      'UPDATE webhook_deliveries SET leased_until = NULL, lease_token = NULL WHERE id = $1 AND lease_token = $2',
      [id, leaseToken],
    );
  }

  /**
   * Makes a delivery due now for one more attempt (same webhook-id, same body), whatever its outcome so
   * far. Refused (undefined) while an attempt is in flight.
   */
  async retryNow(id: string): Promise<{ delivery?: WebhookDelivery; exists: boolean }> {
    const { rows } = await preparedQuery<WebhookDelivery & { inFlight: boolean }>(
      this.dataSource,
      `WITH target AS (
         SELECT id, (status = 'pending' AND leased_until > now()) AS in_flight
         FROM webhook_deliveries WHERE id = $1 FOR UPDATE
       ), upd AS (
         UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), completed_at = NULL,
           max_attempts = greatest(d.max_attempts, d.attempts + 1)
         FROM target t WHERE d.id = t.id AND NOT t.in_flight
         RETURNING d.*
       )
       SELECT t.in_flight AS "inFlight", (SELECT id FROM upd) AS updated FROM target t`,
      [id],
    );
    if (rows.length === 0) {
      return { exists: false };
    }
    if (rows[0].inFlight) {
      return { exists: true };
    }
    return { exists: true, delivery: await this.find(id) };
  }

  async find(id: string): Promise<WebhookDelivery | undefined> {
    const { rows } = await preparedQuery<WebhookDelivery>(
      this.dataSource,
      `SELECT ${COLUMNS} FROM webhook_deliveries WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async list(
    endpointId: string,
    filter: { status?: string; eventType?: string; page: number; limit: number },
  ): Promise<{ rows: WebhookDelivery[]; total: number }> {
    const { rows } = await preparedQuery<WebhookDelivery & { total: string }>(
      this.dataSource,
      `SELECT ${COLUMNS}, count(*) OVER () AS total FROM webhook_deliveries
       WHERE endpoint_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR event_type = $3)
       ORDER BY created_at DESC, id LIMIT $4 OFFSET $5`,
      [
        endpointId,
        filter.status ?? null,
        filter.eventType ?? null,
        filter.limit,
        (filter.page - 1) * filter.limit,
      ],
    );
    let total = rows.length > 0 ? Number(rows[0].total) : 0;
    if (rows.length === 0 && filter.page > 1) {
      const counted = await preparedQuery<{ n: number }>(
        this.dataSource,
        `SELECT count(*)::int AS n FROM webhook_deliveries
         WHERE endpoint_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR event_type = $3)`,
        [endpointId, filter.status ?? null, filter.eventType ?? null],
      );
      total = counted.rows[0].n;
    }
    return { rows: rows.map(({ total: _total, ...row }) => row), total };
  }

  /**
   * Deletes finished deliveries that finished more than `retentionSeconds` ago, oldest first, up to
   * `limit` rows (a retention rule's batch); returns how many it deleted. Pending ones always stay.
   */
  async pruneFinished(retentionSeconds: number, limit: number): Promise<number> {
    const { rowCount } = await preparedQuery(
      this.dataSource,
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries
         WHERE status <> 'pending' AND completed_at < now() - make_interval(secs => $1)
         ORDER BY completed_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [retentionSeconds, limit],
    );
    return rowCount;
  }

  /** Deliveries waiting for an attempt that is due (the backlog), and the age of the oldest. */
  async backlog(): Promise<{ due: number; oldestDueSeconds: number }> {
    const { rows } = await preparedQuery<{ due: number; oldest: number | null }>(
      this.dataSource,
      `SELECT count(*)::int AS due, extract(epoch FROM now() - min(d.next_attempt_at))::float8 AS oldest
       FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.status = 'enabled'
       WHERE d.status = 'pending' AND d.next_attempt_at <= now()`,
      [],
    );
    return { due: rows[0].due, oldestDueSeconds: rows[0].oldest ?? 0 };
  }
}
