/**
 * The one registry of queues and their job names. Renaming a queue or a job is a migration: jobs
 * already waiting in Redis under the old name would never be processed.
 */
export const QUEUES = {
  orderProcessing: 'order-processing',
  paymentProcessing: 'payment-processing',
  inventoryManagement: 'inventory-management',
  notificationSending: 'notification-sending',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOBS = {
  [QUEUES.orderProcessing]: { advanceSaga: 'advance-saga' },
  [QUEUES.paymentProcessing]: { chargePayment: 'charge-payment', refundPayment: 'refund-payment' },
  [QUEUES.inventoryManagement]: { expireReservations: 'expire-reservations' },
  [QUEUES.notificationSending]: { sendNotification: 'send-notification', sendWelcome: 'send-welcome' },
} as const;
