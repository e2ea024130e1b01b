import { NotificationPriority } from './notification-templates';

/** BullMQ job priority (1 is served first) for each notification priority: critical before marketing. */
const JOB_PRIORITY: Record<NotificationPriority, number> = { critical: 1, normal: 5, marketing: 10 };

export function notificationJobPriority(priority: NotificationPriority): number {
  return JOB_PRIORITY[priority];
}
