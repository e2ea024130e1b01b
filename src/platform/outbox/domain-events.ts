import { NotificationPriority } from '../queue/job-priority';

/**
 * The domain events that cross process boundaries through the outbox: facts in the past tense, each
 * with a schema version. A consumer of an older version reads it through `upcast` (outbox relay), so
 * the payload shapes below are always the latest.
 */
export interface DomainEventPayloads {
  OrderCreated: { orderId: string; userId: string };
  PaymentRequested: { orderId: string; amount: string; currency: string; method: string };
  PaymentProcessed: {
    orderId: string;
    paymentId: string;
    status: 'SUCCEEDED' | 'FAILED' | 'PENDING';
    failureCode?: string;
  };
  UserRegistered: { userId: string; email: string; firstName: string; language: string };
  NotificationRequested: { notificationId: string; priority?: NotificationPriority };
  RefundRequested: { orderId: string; reason: string };
  RefundProcessed: { orderId: string; status: 'SUCCEEDED' | 'FAILED' | 'NOTHING_TO_REFUND' };
  OrderCancellationRequested: { orderId: string; reason: string };
  /** An order reached a status integrators are told about (webhooks): written by the status change itself. */
  OrderStatusChanged: { orderId: string; from: string; to: string; reason: string | null; at: string };
}

export type DomainEventType = keyof DomainEventPayloads;

/** The current schema version of each event; bump it together with an upcaster for the old one. */
export const EVENT_SCHEMA_VERSIONS: Record<DomainEventType, number> = {
  OrderCreated: 1,
  PaymentRequested: 1,
  PaymentProcessed: 1,
  UserRegistered: 1,
  NotificationRequested: 1,
  RefundRequested: 1,
  RefundProcessed: 1,
  OrderCancellationRequested: 1,
  OrderStatusChanged: 1,
};

export interface NewDomainEvent<T extends DomainEventType = DomainEventType> {
  type: T;
  aggregateType: 'order' | 'user' | 'notification';
  aggregateId: string;
  payload: DomainEventPayloads[T];
}
