import { Injectable } from '@nestjs/common';
import { JobInfo, OutboxJobData } from '../../platform/queue/job-data';
import { isDependencyUnavailable } from '../../platform/dependency-errors';
import { JobHandler } from '../../platform/queue/job-handler.decorator';
import { PermanentJobError } from '../../platform/queue/job-errors';
import { JOBS, QUEUES } from '../../platform/queue/queue-names';
import { NotificationsService } from './notifications.service';

/** Queue handlers of the notification-sending queue: delivery with retries, and the welcome message. */
@Injectable()
export class NotificationsWorker {
  constructor(private readonly notifications: NotificationsService) {}

  /** Sends once; a transient failure is retried with backoff, the last one marks the notification FAILED. */
  @JobHandler(QUEUES.notificationSending, JOBS[QUEUES.notificationSending].sendNotification)
  async send(data: OutboxJobData<'NotificationRequested'>, job: JobInfo): Promise<void> {
    const { notificationId } = data.payload;
    try {
      const notification = await this.notifications.deliver(notificationId);
      if (!notification) {
        throw new PermanentJobError(
          `notification ${notificationId} does not exist`,
          'NOTIFICATION_NOT_FOUND',
        );
      }
    } catch (error) {
      // An outage puts the job back without spending the attempt (worker.host.ts): not a failure yet.
      const outage = isDependencyUnavailable(error);
      if (job.attemptsMade + 1 >= job.attempts && !(error instanceof PermanentJobError) && !outage) {
        await this.notifications.markFailed(notificationId, (error as Error).message);
      }
      throw error;
    }
  }

  @JobHandler(QUEUES.notificationSending, JOBS[QUEUES.notificationSending].sendWelcome)
  async welcome(data: OutboxJobData<'UserRegistered'>): Promise<void> {
    await this.notifications.onUserRegistered(data.payload);
  }
}
