import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../../platform/database/prepared';
import { NotificationPriority } from '../../platform/queue/job-priority';
import { NotificationChannel } from './notification-provider';
import { Language, TemplateName } from './notification-templates';

export type NotificationStatus = 'QUEUED' | 'SENT' | 'FAILED' | 'BOUNCED' | 'SKIPPED';

export interface NotificationRecord {
  id: string;
  userId: string | null;
  orderId: string | null;
  channel: NotificationChannel;
  template: TemplateName;
  language: string;
  priority: NotificationPriority;
  status: NotificationStatus;
  recipient: string;
  subject: string | null;
  body: string | null;
  attempts: number;
  lastError: string | null;
  providerMessageId: string | null;
  sentAt: Date | null;
}

/** A row as an operator lists it: no body. */
export type NotificationSummary = Omit<NotificationRecord, 'body' | 'userId'> & { createdAt: Date };

/** A rendered message to store, one per channel. */
export interface NewNotification {
  userId: string;
  orderId: string | null;
  channel: NotificationChannel;
  template: TemplateName;
  templateVersion: number;
  language: Language;
  priority: NotificationPriority;
  status: Extract<NotificationStatus, 'QUEUED' | 'SKIPPED'>;
  recipient: string | null;
  subject: string | null;
  body: string;
  dedupeKey: string;
  lastError: string | null;
}

const COLUMNS = `id, user_id AS "userId", order_id AS "orderId", channel, template, language, priority, status,
  recipient, subject, body, attempts, last_error AS "lastError", provider_message_id AS "providerMessageId",
  sent_at AS "sentAt"`;

/** The notifications table. Statements that take `tx` run in the caller's transaction. */
@Injectable()
export class NotificationsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts unless the dedupe key exists; the existing row's id and status otherwise. */
  async insert(
    tx: EntityManager,
    row: NewNotification,
  ): Promise<{ id: string; status: NotificationStatus; inserted: boolean }> {
    const { rows: inserted } = await preparedQuery<{ id: string }>(
      tx,
      `INSERT INTO notifications (user_id, order_id, channel, template, template_version, language, priority,
         status, recipient, subject, body, dedupe_key, last_error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [
        row.userId,
        row.orderId,
        row.channel,
        row.template,
        row.templateVersion,
        row.language,
        row.priority,
        row.status,
        row.recipient,
        row.subject,
        row.body,
        row.dedupeKey,
        row.lastError,
      ],
    );
    if (inserted.length > 0) {
      return { id: inserted[0].id, status: row.status, inserted: true };
    }
    const [existing] = await tx.query<{ id: string; status: NotificationStatus }[]>(
      `SELECT id, status FROM notifications WHERE dedupe_key = $1`,
      [row.dedupeKey],
    );
    return { ...existing, inserted: false };
  }

  /**
   * Locks the row for delivery: 'locked' by another transaction (another worker is sending it) is
   * told apart from a row that does not exist.
   */
  async lockForDelivery(tx: EntityManager, id: string): Promise<NotificationRecord | 'locked' | undefined> {
    const {
      rows: [row],
    } = await preparedQuery<NotificationRecord>(
      tx,
      `SELECT ${COLUMNS} FROM notifications WHERE id = $1 FOR UPDATE SKIP LOCKED`,
      [id],
    );
    if (row) {
      return row;
    }
    const [exists] = await tx.query<unknown[]>(`SELECT 1 FROM notifications WHERE id = $1`, [id]);
    return exists ? 'locked' : undefined;
  }

  /** A failed attempt that will be retried: the row stays QUEUED. */
  async recordAttempt(tx: EntityManager, id: string, error: string): Promise<NotificationRecord> {
    const [rows] = await tx.query<[NotificationRecord[], number]>(
      `UPDATE notifications SET attempts = attempts + 1, last_error = $2, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, error],
    );
    return rows[0];
  }

  /** Records how a delivery ended; `attempted` is false for a message that was never tried (skipped). */
  async finish(
    tx: EntityManager,
    id: string,
    status: Exclude<NotificationStatus, 'QUEUED'>,
    fields: { attempted: boolean; providerMessageId?: string; lastError?: string },
  ): Promise<NotificationRecord> {
    const { rows } = await preparedQuery<NotificationRecord>(
      tx,
      `UPDATE notifications
       SET status = $2::varchar, attempts = attempts + $3, provider_message_id = coalesce($4, provider_message_id),
           last_error = $5, sent_at = CASE WHEN $2::varchar = 'SENT' THEN now() ELSE sent_at END, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, status, fields.attempted ? 1 : 0, fields.providerMessageId ?? null, fields.lastError ?? null],
    );
    return rows[0];
  }

  /**
   * Claims up to `limit` rows still QUEUED and untouched for `olderThanSeconds` (SKIP LOCKED, so
   * several workers never claim one twice) and touches them, so the next pass leaves them alone.
   */
  async claimStale(
    tx: EntityManager,
    olderThanSeconds: number,
    limit: number,
  ): Promise<{ id: string; priority: NotificationPriority }[]> {
    return tx.query<{ id: string; priority: NotificationPriority }[]>(
      `WITH stale AS (
         SELECT id FROM notifications WHERE status = 'QUEUED' AND updated_at < now() - make_interval(secs => $1)
         ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), touched AS (
         UPDATE notifications n SET updated_at = now() FROM stale WHERE n.id = stale.id RETURNING n.id, n.priority
       )
       SELECT id, priority FROM touched`,
      [olderThanSeconds, limit],
    );
  }

  /** A QUEUED row ends FAILED; returns its channel, or undefined when it was no longer QUEUED. */
  async markFailed(id: string, reason: string): Promise<NotificationChannel | undefined> {
    const [rows] = await this.dataSource.query<[{ channel: NotificationChannel }[], number]>(
      `UPDATE notifications SET status = 'FAILED', last_error = $2, updated_at = now()
       WHERE id = $1 AND status = 'QUEUED' RETURNING channel`,
      [id, reason],
    );
    return rows[0]?.channel;
  }

  /** Of these notifications, those that went out (SENT). */
  async findSent(ids: readonly string[]): Promise<Set<string>> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM notifications WHERE id = ANY($1::uuid[]) AND status = 'SENT'`,
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  async findById(id: string): Promise<NotificationRecord | undefined> {
    const [row] = await this.dataSource.query<NotificationRecord[]>(
      `SELECT ${COLUMNS} FROM notifications WHERE id = $1`,
      [id],
    );
    return row;
  }

  /**
   * Drops the rendered body of up to `limit` delivered (or given-up) notifications older than the
   * retention; the record of what was sent, to whom and when stays. QUEUED ones still need theirs.
   */
  async compactBodies(olderThanSeconds: number, limit: number): Promise<number> {
    const [{ count }] = await this.dataSource.query<{ count: number }[]>(
      `WITH compacted AS (
         UPDATE notifications SET body = NULL WHERE id IN (
           SELECT id FROM notifications
           WHERE body IS NOT NULL AND status <> 'QUEUED'
             AND created_at < now() - make_interval(secs => $1)
           ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING 1)
       SELECT count(*)::int AS count FROM compacted`,
      [olderThanSeconds, limit],
    );
    return count;
  }

  async findByOrder(orderId: string): Promise<NotificationSummary[]> {
    return this.dataSource.query<NotificationSummary[]>(
      `SELECT id, order_id AS "orderId", channel, template, language, priority, status, recipient, subject,
         attempts, last_error AS "lastError", provider_message_id AS "providerMessageId", sent_at AS "sentAt",
         created_at AS "createdAt"
       FROM notifications WHERE order_id = $1 ORDER BY created_at, id`,
      [orderId],
    );
  }
}
