import { OutboxJobData } from '../../platform/queue/job-data';

/**
 * The event types integrators subscribe to (a contract: names never change; a new shape is a new
 * payload version). Each comes from an outbox event: OrderCreated, or OrderStatusChanged to a status.
 */
export const WEBHOOK_EVENT_TYPES = [
  'order.created',
  'order.confirmed',
  'order.payment_failed',
  'order.cancelled',
  'order.shipped',
  'order.delivered',
  'order.refunded',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent by `POST /webhooks/endpoints/:id/test` only; never subscribed to. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** The payload schema version, in every body as `version`; bumped only with a breaking change. */
export const WEBHOOK_PAYLOAD_VERSION = 1;

const TYPE_OF_STATUS: Record<string, WebhookEventType | undefined> = {
  CONFIRMED: 'order.confirmed',
  PAYMENT_FAILED: 'order.payment_failed',
  CANCELLED: 'order.cancelled',
  SHIPPED: 'order.shipped',
  DELIVERED: 'order.delivered',
  REFUNDED: 'order.refunded',
};

/** What an outbox event announces to integrators, or undefined when it announces nothing. */
export interface AnnouncedOrderEvent {
  eventId: string;
  type: WebhookEventType;
  orderId: string;
  status: string;
  previousStatus: string | null;
  reason: string | null;
  /** When it happened (ISO 8601); the order's creation for order.created. */
  occurredAt: string | null;
}

export function announcedEventOf(event: OutboxJobData): AnnouncedOrderEvent | undefined {
  if (event.eventType === 'OrderCreated') {
    const payload = event.payload as OutboxJobData<'OrderCreated'>['payload'];
    return {
      eventId: event.eventId,
      type: 'order.created',
      orderId: payload.orderId,
      status: 'PENDING',
      previousStatus: null,
      reason: null,
      occurredAt: null,
    };
  }
  if (event.eventType === 'OrderStatusChanged') {
    const payload = event.payload as OutboxJobData<'OrderStatusChanged'>['payload'];
    const type = TYPE_OF_STATUS[payload.to];
    return type
      ? {
          eventId: event.eventId,
          type,
          orderId: payload.orderId,
          status: payload.to,
          previousStatus: payload.from,
          reason: payload.reason,
          occurredAt: new Date(payload.at).toISOString(),
        }
      : undefined;
  }
  return undefined;
}

/** The order's fields every order event carries, read when the event is fanned out. */
export interface OrderSnapshot {
  id: string;
  userId: string;
  totalAmount: string;
  currency: string;
  createdAt: Date;
  trackingNumber: string | null;
}

export interface WebhookBody {
  type: string;
  timestamp: string;
  version: number;
  data: Record<string, unknown>;
}

/** The body sent for an order event: the same bytes on every attempt to every endpoint. */
export function orderEventBody(event: AnnouncedOrderEvent, order: OrderSnapshot): string {
  const body: WebhookBody = {
    type: event.type,
    timestamp: event.occurredAt ?? order.createdAt.toISOString(),
    version: WEBHOOK_PAYLOAD_VERSION,
    data: {
      orderId: order.id,
      status: event.status,
      previousStatus: event.previousStatus,
      userId: order.userId,
      totalAmount: order.totalAmount,
      currency: order.currency,
      ...(event.reason ? { reason: event.reason } : {}),
      ...(event.type === 'order.shipped' && order.trackingNumber
        ? { trackingNumber: order.trackingNumber }
        : {}),
    },
  };
  return JSON.stringify(body);
}

export function testEventBody(endpointId: string, at: Date): string {
  const body: WebhookBody = {
    type: TEST_EVENT_TYPE,
    timestamp: at.toISOString(),
    version: WEBHOOK_PAYLOAD_VERSION,
    data: { endpointId, message: 'A test event from async-order-processor.' },
  };
  return JSON.stringify(body);
}

/** `webhook-id`: one per event, the same on every attempt (and replay) of it to an endpoint. */
export function messageIdOf(eventId: string): string {
  return `msg_${eventId}`;
}
