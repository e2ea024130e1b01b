import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { NotFoundError } from '../../platform/http/domain-error';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { DomainEventPayloads } from '../../platform/outbox/domain-events';
import { OutboxWriter } from '../../platform/outbox/outbox.writer';
import { NotificationPriority } from '../../platform/queue/job-priority';
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
import { NotificationTemplates, TemplateName, TEMPLATES } from './notification-templates';
import { NotificationRecord, NotificationsRepository, NotificationStatus } from './notifications.repository';

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

export interface RequestedNotification {
  id: string;
  channel: NotificationChannel;
  status: NotificationStatus;
  /** True when this request had been made before: nothing new was written. */
  duplicate: boolean;
}

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
    private readonly repository: NotificationsRepository,
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
      const row = await this.repository.lockForDelivery(tx, notificationId);
      if (row === 'locked') {
        throw new TransientNotificationError(`Notification ${notificationId} is being delivered elsewhere.`);
      }
      if (!row) {
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
        return { record: await this.repository.recordAttempt(tx, row.id, message), retry: error };
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
      const stale = await this.repository.claimStale(tx, olderThanSeconds, limit);
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
    const channel = await this.repository.markFailed(notificationId, reason);
    if (channel) {
      this.outcomes.inc({ channel, outcome: 'failed' });
    }
  }

  /** Of these notifications, those that went out (SENT). */
  findSent(notificationIds: readonly string[]): Promise<Set<string>> {
    return this.repository.findSent(notificationIds);
  }

  async findById(notificationId: string): Promise<NotificationRecord | undefined> {
    return this.repository.findById(notificationId);
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
    const status = skipReason ? 'SKIPPED' : 'QUEUED';
    const stored = await this.repository.insert(tx, {
      userId: recipient.userId,
      orderId: request.orderId ?? null,
      channel,
      template: request.template,
      templateVersion: rendered.version,
      language: recipient.language,
      priority,
      status,
      recipient: channel === 'sms' ? recipient.phone : recipient.email,
      subject: rendered.subject,
      body: rendered.body,
      dedupeKey,
      lastError: skipReason ?? null,
    });
    if (!stored.inserted) {
      this.outcomes.inc({ channel, outcome: 'duplicate' });
      return { id: stored.id, channel, status: stored.status, duplicate: true };
    }
    const id = stored.id;
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
    const record = await this.repository.finish(tx, row.id, status, {
      ...fields,
      attempted: status !== 'SKIPPED',
    });
    this.outcomes.inc({ channel: row.channel, outcome: status.toLowerCase() });
    if (status !== 'SENT') {
      this.logger.warn({ notificationId: row.id, status, err: fields.lastError }, 'notification not sent');
    }
    return record;
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
