import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { preparedQuery, SqlExecutor } from '../../platform/database/prepared';

export type EndpointStatus = 'enabled' | 'disabled';

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  status: EndpointStatus;
  /** First failed attempt of the current run of failures; null after a success. */
  failingSince: Date | null;
  disabledReason: string | null;
  disabledAt: Date | null;
  /** Until then deliveries are signed with the previous secret too. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface EndpointPatch {
  url?: string;
  events?: string[];
  description?: string | null;
  status?: EndpointStatus;
}

const COLUMNS = `id, url, description, events, status, failing_since AS "failingSince",
  disabled_reason AS "disabledReason", disabled_at AS "disabledAt",
  CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END AS "previousSecretExpiresAt",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Disabling an endpoint ends its pending deliveries (`discarded`): nothing is sent to it any more. */
const DISCARD_PENDING = `
  discarded AS (
    UPDATE webhook_deliveries d SET status = 'discarded', completed_at = now(), leased_until = NULL,
      lease_token = NULL, last_error = coalesce(d.last_error, 'endpoint disabled')
    WHERE d.endpoint_id IN (SELECT id FROM changed) AND d.status = 'pending'
    RETURNING d.id
  )`;

/** The endpoint was enabled and its failures began at least $2 seconds ago (old values of the row). */
const EXPIRED = `(status = 'enabled' AND failing_since <= now() - make_interval(secs => $2))`;

/** The endpoints' SQL. Secrets stay sealed here (WebhookSecretBox opens them). */
@Injectable()
export class WebhookEndpointsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(
    endpoint: { url: string; description: string | null; events: string[] },
    sealedSecret: string,
  ): Promise<WebhookEndpoint> {
    const { rows } = await preparedQuery<WebhookEndpoint>(
      this.dataSource,
      `INSERT INTO webhook_endpoints (url, description, events, secret_ciphertext)
       VALUES ($1, $2, $3::text[], $4) RETURNING ${COLUMNS}`,
      [endpoint.url, endpoint.description, endpoint.events, sealedSecret],
    );
    return rows[0];
  }

  async find(id: string): Promise<WebhookEndpoint | undefined> {
    const { rows } = await preparedQuery<WebhookEndpoint>(
      this.dataSource,
      `SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async list(page: number, limit: number): Promise<{ rows: WebhookEndpoint[]; total: number }> {
    const { rows } = await preparedQuery<WebhookEndpoint & { total: string }>(
      this.dataSource,
      `SELECT ${COLUMNS}, count(*) OVER () AS total FROM webhook_endpoints
       ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`,
      [limit, (page - 1) * limit],
    );
    const total = rows.length > 0 ? Number(rows[0].total) : await this.count();
    return { rows: rows.map(({ total: _total, ...row }) => row), total };
  }

  private async count(): Promise<number> {
    const { rows } = await preparedQuery<{ n: number }>(
      this.dataSource,
      'SELECT count(*)::int AS n FROM webhook_endpoints',
      [],
    );
    return rows[0].n;
  }

  /** Applies the given fields; enabling clears the failure record, disabling discards pending deliveries. */
  async update(id: string, patch: EndpointPatch): Promise<WebhookEndpoint | undefined> {
    const { rows } = await preparedQuery<WebhookEndpoint>(
      this.dataSource,
      `WITH changed AS (
         UPDATE webhook_endpoints SET
           url = coalesce($2, url),
           events = coalesce($3::text[], events),
           description = CASE WHEN $4::boolean THEN $5 ELSE description END,
           status = coalesce($6, status),
           failing_since = CASE WHEN $6 = 'enabled' THEN NULL ELSE failing_since END,
           disabled_reason = CASE WHEN $6 = 'enabled' THEN NULL
                                  WHEN $6 = 'disabled' AND status = 'enabled' THEN 'disabled by an admin'
                                  ELSE disabled_reason END,
           disabled_at = CASE WHEN $6 = 'enabled' THEN NULL
                              WHEN $6 = 'disabled' AND status = 'enabled' THEN now()
                              ELSE disabled_at END,
           updated_at = now()
         WHERE id = $1
         RETURNING *
       ), to_discard AS (
         SELECT id FROM changed WHERE status = 'disabled'
       ), ${DISCARD_PENDING.replace('IN (SELECT id FROM changed)', 'IN (SELECT id FROM to_discard)')}
       SELECT ${COLUMNS} FROM changed`,
      [
        id,
        patch.url ?? null,
        patch.events ?? null,
        patch.description !== undefined,
        patch.description ?? null,
        patch.status ?? null,
      ],
    );
    return rows[0];
  }

  async delete(id: string): Promise<boolean> {
    const { rowCount } = await preparedQuery(this.dataSource, 'DELETE FROM webhook_endpoints WHERE id = $1', [
      id,
    ]);
    return rowCount > 0;
  }

  /** The new secret replaces the current one, which stays valid for `graceSeconds` (double signatures). */
  async rotateSecret(
    id: string,
    sealedSecret: string,
    graceSeconds: number,
  ): Promise<WebhookEndpoint | undefined> {
    const { rows } = await preparedQuery<WebhookEndpoint>(
      this.dataSource,
      `UPDATE webhook_endpoints SET previous_secret_ciphertext = secret_ciphertext,
         previous_secret_expires_at = now() + make_interval(secs => $3), secret_ciphertext = $2, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, sealedSecret, graceSeconds],
    );
    return rows[0];
  }

  async recordSuccess(executor: SqlExecutor, id: string): Promise<void> {
    await preparedQuery(
      executor,
      'UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL',
      [id],
    );
  }

  /**
   * Notes a failed attempt; disables the endpoint (and discards its pending deliveries) once it has
   * failed without a success for `disableAfterSeconds`. True when this call disabled it.
   */
  async recordFailure(executor: SqlExecutor, id: string, disableAfterSeconds: number): Promise<boolean> {
    const { rows } = await preparedQuery<{ disabled: boolean }>(
      executor,
      `WITH changed AS (
         UPDATE webhook_endpoints SET
           failing_since = coalesce(failing_since, now()),
           status = CASE WHEN ${EXPIRED} THEN 'disabled' ELSE status END,
           disabled_at = CASE WHEN ${EXPIRED} THEN now() ELSE disabled_at END,
           disabled_reason = CASE WHEN ${EXPIRED}
             THEN 'failing since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
             ELSE disabled_reason END,
           updated_at = CASE WHEN ${EXPIRED} THEN now() ELSE updated_at END
         WHERE id = $1
         RETURNING id, (status = 'disabled' AND disabled_at = now()) AS just_disabled
       ), ${DISCARD_PENDING.replace('IN (SELECT id FROM changed)', 'IN (SELECT id FROM changed WHERE just_disabled)')}
       SELECT coalesce((SELECT just_disabled FROM changed), false) AS disabled`,
      [id, disableAfterSeconds],
    );
    return rows[0]?.disabled ?? false;
  }

  /** Disables at once (the receiver answered 410 Gone). True when this call disabled it. */
  async disable(executor: SqlExecutor, id: string, reason: string): Promise<boolean> {
    const { rows } = await preparedQuery<{ disabled: boolean }>(
      executor,
      `WITH changed AS (
         UPDATE webhook_endpoints SET status = 'disabled', disabled_at = now(), updated_at = now(), disabled_reason = $2
         WHERE id = $1 AND status = 'enabled' RETURNING id
       ), ${DISCARD_PENDING}
       SELECT EXISTS (SELECT 1 FROM changed) AS disabled`,
      [id, reason],
    );
    return rows[0]?.disabled ?? false;
  }
}
