/**
 * The one registry of queues and their job names. Renaming a queue or a job is a migration: jobs
 * already waiting in Redis under the old name would never be processed.
 */
export const QUEUES = {
  orderProcessing: 'order-processing',
  paymentProcessing: 'payment-processing',
  inventoryManagement: 'inventory-management',
  notificationSending: 'notification-sending',
  // Outbound webhooks: turning an event into per-endpoint deliveries, and the HTTP attempts themselves.
  webhookFanOut: 'webhook-fan-out',
  webhookDelivery: 'webhook-delivery',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOBS = {
  // A `-batch` job carries several orders' events (see OutboxBatchJobData); one event travels alone.
  [QUEUES.orderProcessing]: { advanceSaga: 'advance-saga', advanceSagaBatch: 'advance-saga-batch' },
  [QUEUES.paymentProcessing]: {
    chargePayment: 'charge-payment',
    chargePaymentBatch: 'charge-payment-batch',
    refundPayment: 'refund-payment',
  },
  [QUEUES.inventoryManagement]: { expireReservations: 'expire-reservations' },
  [QUEUES.notificationSending]: { sendNotification: 'send-notification', sendWelcome: 'send-welcome' },
  [QUEUES.webhookFanOut]: { fanOut: 'fan-out-event', fanOutBatch: 'fan-out-event-batch' },
  [QUEUES.webhookDelivery]: { deliver: 'deliver-webhook' },
} as const;
