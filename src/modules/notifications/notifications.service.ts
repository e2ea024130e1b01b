import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../../platform/database/prepared';
import { NotFoundError } from '../../platform/http/domain-error';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { DomainEventPayloads } from '../../platform/outbox/domain-events';
import { OutboxWriter } from '../../platform/outbox/outbox.writer';
import {
  InvalidRecipientError,
  NOTIFICATION_PROVIDERS,
  NotificationBouncedError,
  NotificationChannel,
  NotificationProvider,
  TransientNotificationError,
} from './notification-provider';
import { NotificationPreferencesRepository, NotificationRecipient } from './notification-preferences';
import { NotificationRateLimiter } from './notification-rate-limiter';
import {
  NotificationPriority,
  NotificationTemplates,
  TemplateName,
  TEMPLATES,
} from './notification-templates';

export interface NotificationRequest {
  userId: string;
  orderId?: string;
  template: TemplateName;
  data: Record<string, unknown>;
  /** Defaults to the template's priority. */
  priority?: NotificationPriority;
  /** Defaults to `${template}:${orderId ?? userId}`: a re-delivered saga step never notifies twice. */
  dedupeKey?: string;
}

export type NotificationStatus = 'QUEUED' | 'SENT' | 'FAILED' | 'BOUNCED' | 'SKIPPED';

export interface RequestedNotification {
  id: string;
  channel: NotificationChannel;
  status: NotificationStatus;
  /** True when this request had been made before: nothing new was written. */
  duplicate: boolean;
}

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

const COLUMNS = `id, user_id AS "userId", order_id AS "orderId", channel, template, language, priority, status,
  recipient, subject, body, attempts, last_error AS "lastError", provider_message_id AS "providerMessageId",
  sent_at AS "sentAt"`;

/**
 * Notifications in two halves. `request` runs inside the caller's transaction: it renders the
 * message in the user's language, writes one row per channel (unique dedupe key) and a
 * NotificationRequested outbox event. `deliver` runs in a worker: it sends a QUEUED row once and
 * records SENT, BOUNCED or FAILED; a transient failure is thrown for the queue to retry.
 */
@Injectable()
export class NotificationsService {
  private readonly logger = new Logger(NotificationsService.name);
  private readonly outcomes: Counter<'channel' | 'outcome'>;
  private readonly providers: Map<NotificationChannel, NotificationProvider>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly preferences: NotificationPreferencesRepository,
    private readonly templates: NotificationTemplates,
    private readonly rateLimiter: NotificationRateLimiter,
    private readonly outbox: OutboxWriter,
    @Inject(NOTIFICATION_PROVIDERS) providers: NotificationProvider[],
    metrics: MetricsService,
  ) {
    this.providers = new Map(providers.map((p) => [p.channel, p]));
    this.outcomes = new Counter({
      name: 'aop_notifications_total',
      help: 'Notifications by channel and outcome (queued, skipped, duplicate, sent, bounced, failed, retry)',
      labelNames: ['channel', 'outcome'],
      registers: [metrics.registry],
    });
  }

  async request(tx: EntityManager, request: NotificationRequest): Promise<RequestedNotification[]> {
    const recipient = await this.preferences.findRecipient(tx, request.userId);
    if (!recipient) {
      this.logger.warn(
        { userId: request.userId, template: request.template },
        'notification for unknown user',
      );
      return [];
    }
    const priority = request.priority ?? TEMPLATES[request.template].priority;
    const dedupeBase = request.dedupeKey ?? `${request.template}:${request.orderId ?? request.userId}`;
    const skipReason = optOutReason(recipient, priority);
    const channels = skipReason ? [] : channelsFor(recipient, priority);
    if (channels.length === 0) {
      return [
        await this.insert(
          tx,
          request,
          recipient,
          priority,
          'email',
          `${dedupeBase}:email`,
          skipReason ?? 'no channel enabled',
        ),
      ];
    }
    const results: RequestedNotification[] = [];
    for (const channel of channels) {
      results.push(await this.insert(tx, request, recipient, priority, channel, `${dedupeBase}:${channel}`));
    }
    return results;
  }

  /** Sends a QUEUED notification once; any other status is returned untouched (idempotent). */
  async deliver(notificationId: string): Promise<NotificationRecord> {
    const { record, retry } = await this.dataSource.transaction(async (tx) => {
      // The row lock is held while sending, so two workers handed the same job never both send it.
      const {
        rows: [row],
      } = await preparedQuery<NotificationRecord>(
        tx,
        `SELECT ${COLUMNS} FROM notifications WHERE id = $1 FOR UPDATE SKIP LOCKED`,
        [notificationId],
      );
      if (!row) {
        const [exists] = await tx.query<unknown[]>(`SELECT 1 FROM notifications WHERE id = $1`, [
          notificationId,
        ]);
        if (exists) {
          throw new TransientNotificationError(
            `Notification ${notificationId} is being delivered elsewhere.`,
          );
        }
        throw new NotFoundError(`Notification ${notificationId} does not exist.`);
      }
      if (row.status !== 'QUEUED') {
        return { record: row };
      }
      if (row.priority !== 'critical' && row.attempts === 0 && row.userId) {
        if (!(await this.rateLimiter.tryConsume(row.userId))) {
          return { record: await this.finish(tx, row, 'SKIPPED', { lastError: 'rate_limited' }) };
        }
      }
      try {
        const sent = await this.provider(row.channel).send({
          to: row.recipient,
          subject: row.subject ?? '',
          body: row.body ?? '',
        });
        return { record: await this.finish(tx, row, 'SENT', { providerMessageId: sent.providerMessageId }) };
      } catch (error) {
        const message = (error as Error).message;
        if (error instanceof NotificationBouncedError) {
          return { record: await this.finish(tx, row, 'BOUNCED', { lastError: message }) };
        }
        if (error instanceof InvalidRecipientError) {
          return { record: await this.finish(tx, row, 'FAILED', { lastError: message }) };
        }
        const [rows] = await tx.query<[NotificationRecord[], number]>(
          `UPDATE notifications SET attempts = attempts + 1, last_error = $2, updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
          [row.id, message],
        );
        return { record: rows[0], retry: error };
      }
    });
    if (retry) {
      this.outcomes.inc({ channel: record.channel, outcome: 'retry' });
      throw retry instanceof TransientNotificationError
        ? retry
        : new TransientNotificationError((retry as Error).message);
    }
    return record;
  }

  /** For the dead-letter path: a notification whose retries are exhausted ends FAILED. */
  /**
   * Asks again for notifications still QUEUED with no attempt for `olderThanSeconds`: their job was lost
   * (Redis restarted empty, say). Delivery is idempotent, so a job that was only slow costs one no-op.
   */
  async requeueStale(olderThanSeconds: number, limit: number): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      const stale = await tx.query<{ id: string; priority: NotificationPriority }[]>(
        `WITH stale AS (
           SELECT id FROM notifications WHERE status = 'QUEUED' AND updated_at < now() - make_interval(secs => $1)
           ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ), touched AS (
           UPDATE notifications n SET updated_at = now() FROM stale WHERE n.id = stale.id RETURNING n.id, n.priority
         )
         SELECT id, priority FROM touched`,
        [olderThanSeconds, limit],
      );
      await this.outbox.appendMany(
        tx,
        stale.map((n) => ({
          type: 'NotificationRequested' as const,
          aggregateType: 'notification' as const,
          aggregateId: n.id,
          payload: { notificationId: n.id, priority: n.priority },
        })),
      );
      return stale.length;
    });
  }

  async markFailed(notificationId: string, reason: string): Promise<void> {
    const [rows] = await this.dataSource.query<[{ channel: NotificationChannel }[], number]>(
      `UPDATE notifications SET status = 'FAILED', last_error = $2, updated_at = now()
       WHERE id = $1 AND status = 'QUEUED' RETURNING channel`,
      [notificationId, reason],
    );
    rows.forEach((row) => this.outcomes.inc({ channel: row.channel, outcome: 'failed' }));
  }

  async findById(notificationId: string): Promise<NotificationRecord | undefined> {
    const [row] = await this.dataSource.query<NotificationRecord[]>(
      `SELECT ${COLUMNS} FROM notifications WHERE id = $1`,
      [notificationId],
    );
    return row;
  }

  /** Handler for the UserRegistered outbox event (wired by the worker): the welcome message. */
  async onUserRegistered(event: DomainEventPayloads['UserRegistered']): Promise<RequestedNotification[]> {
    return this.dataSource.transaction((tx) =>
      this.request(tx, {
        userId: event.userId,
        template: 'welcome',
        data: { customerName: event.firstName },
      }),
    );
  }

  private async insert(
    tx: EntityManager,
    request: NotificationRequest,
    recipient: NotificationRecipient,
    priority: NotificationPriority,
    channel: NotificationChannel,
    dedupeKey: string,
    skipReason?: string,
  ): Promise<RequestedNotification> {
    const data = { customerName: recipient.firstName, ...request.data };
    const rendered = this.templates.render(request.template, recipient.language, channel, data);
    const status: NotificationStatus = skipReason ? 'SKIPPED' : 'QUEUED';
    const { rows: inserted } = await preparedQuery<{ id: string }>(
      tx,
      `INSERT INTO notifications (user_id, order_id, channel, template, template_version, language, priority,
         status, recipient, subject, body, dedupe_key, last_error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [
        recipient.userId,
        request.orderId ?? null,
        channel,
        request.template,
        rendered.version,
        recipient.language,
        priority,
        status,
        channel === 'sms' ? recipient.phone : recipient.email,
        rendered.subject,
        rendered.body,
        dedupeKey,
        skipReason ?? null,
      ],
    );
    if (inserted.length === 0) {
      const [existing] = await tx.query<{ id: string; status: NotificationStatus }[]>(
        `SELECT id, status FROM notifications WHERE dedupe_key = $1`,
        [dedupeKey],
      );
      this.outcomes.inc({ channel, outcome: 'duplicate' });
      return { id: existing.id, channel, status: existing.status, duplicate: true };
    }
    const id = inserted[0].id;
    if (status === 'QUEUED') {
      await this.outbox.append(tx, {
        type: 'NotificationRequested',
        aggregateType: 'notification',
        aggregateId: id,
        payload: { notificationId: id, priority },
      });
    }
    this.outcomes.inc({ channel, outcome: status === 'QUEUED' ? 'queued' : 'skipped' });
    return { id, channel, status, duplicate: false };
  }

  private async finish(
    tx: EntityManager,
    row: NotificationRecord,
    status: Exclude<NotificationStatus, 'QUEUED'>,
    fields: { providerMessageId?: string; lastError?: string },
  ): Promise<NotificationRecord> {
    const attempted = status !== 'SKIPPED';
    const { rows } = await preparedQuery<NotificationRecord>(
      tx,
      `UPDATE notifications
       SET status = $2::varchar, attempts = attempts + $3, provider_message_id = coalesce($4, provider_message_id),
           last_error = $5, sent_at = CASE WHEN $2::varchar = 'SENT' THEN now() ELSE sent_at END, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [row.id, status, attempted ? 1 : 0, fields.providerMessageId ?? null, fields.lastError ?? null],
    );
    this.outcomes.inc({ channel: row.channel, outcome: status.toLowerCase() });
    if (status !== 'SENT') {
      this.logger.warn({ notificationId: row.id, status, err: fields.lastError }, 'notification not sent');
    }
    return rows[0];
  }

  private provider(channel: NotificationChannel): NotificationProvider {
    const provider = this.providers.get(channel);
    if (!provider) {
      throw new Error(`No provider for channel ${channel}`);
    }
    return provider;
  }
}

/** Why a message of this priority must not be sent to this person, if it must not. */
function optOutReason(recipient: NotificationRecipient, priority: NotificationPriority): string | undefined {
  if (priority === 'critical') {
    return undefined;
  }
  if (recipient.nonCriticalOptOut) {
    return 'opted out of non-critical messages';
  }
  return priority === 'marketing' && recipient.marketingOptOut ? 'opted out of marketing' : undefined;
}

/** The enabled channels; a critical message falls back to email when the person turned every channel off. */
function channelsFor(
  recipient: NotificationRecipient,
  priority: NotificationPriority,
): NotificationChannel[] {
  const channels: NotificationChannel[] = [];
  if (recipient.channels.email) {
    channels.push('email');
  }
  if (recipient.channels.sms && recipient.phone) {
    channels.push('sms');
  }
  return channels.length === 0 && priority === 'critical' ? ['email'] : channels;
}
