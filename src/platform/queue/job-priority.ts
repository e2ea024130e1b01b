/** How urgent a notification is; the saga and the templates choose it, the queue serves by it. */
export type NotificationPriority = 'critical' | 'normal' | 'marketing';

/** BullMQ job priority (1 is served first) for each notification priority: critical before marketing. */
const NOTIFICATION_JOB_PRIORITY: Record<NotificationPriority, number> = {
  critical: 1,
  normal: 5,
  marketing: 10,
};

export function notificationJobPriority(priority: NotificationPriority): number {
  return NOTIFICATION_JOB_PRIORITY[priority];
}
