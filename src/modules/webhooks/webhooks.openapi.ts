import type { OpenAPIObject } from '@nestjs/swagger';
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, WEBHOOK_PAYLOAD_VERSION } from './webhook-events';

const ORDER_EVENT_SCHEMA = 'WebhookOrderEvent';
const TEST_EVENT_SCHEMA = 'WebhookTestEvent';

const HEADERS = [
  {
    name: 'webhook-id',
    description: 'The message id: the same on every retry of one event to one endpoint; deduplicate on it.',
    example: 'msg_5f0f8a8e-6a0c-4a43-9d0c-3d6e1d1f3b8e',
  },
  {
    name: 'webhook-timestamp',
    description: 'Unix seconds of this attempt; refuse messages too far from your clock.',
    example: '1796184000',
  },
  {
    name: 'webhook-signature',
    description:
      'Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`; two during a secret rotation.',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  },
];

/**
 * OpenAPI 3.1's `webhooks` section: the requests we send to registered endpoints, one per event type.
 * @nestjs/swagger builds `paths` only, so it is added to the document by hand (and the document marked 3.1).
 */
export function addWebhooksToDocument(document: OpenAPIObject): OpenAPIObject {
  document.openapi = '3.1.0';
  document.components = document.components ?? {};
  document.components.schemas = {
    ...document.components.schemas,
    [ORDER_EVENT_SCHEMA]: {
      type: 'object',
      required: ['type', 'timestamp', 'version', 'data'],
      properties: {
        type: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
        timestamp: { type: 'string', format: 'date-time', description: 'When it happened' },
        version: { type: 'integer', enum: [WEBHOOK_PAYLOAD_VERSION], description: 'Payload schema version' },
        data: {
          type: 'object',
          required: ['orderId', 'status', 'userId', 'totalAmount', 'currency'],
          properties: {
            orderId: { type: 'string', format: 'uuid' },
            status: { type: 'string', example: 'CONFIRMED' },
            previousStatus: { type: 'string', nullable: true, example: 'PAYMENT_PENDING' },
            userId: { type: 'string', format: 'uuid' },
            totalAmount: { type: 'string', example: '59.90', description: 'Decimal string, never a float' },
            currency: { type: 'string', example: 'EUR' },
            reason: { type: 'string', description: 'Why (cancellations, payment failures), when known' },
            trackingNumber: { type: 'string', description: 'order.shipped only' },
          },
        },
      },
    },
    [TEST_EVENT_SCHEMA]: {
      type: 'object',
      required: ['type', 'timestamp', 'version', 'data'],
      properties: {
        type: { type: 'string', enum: [TEST_EVENT_TYPE] },
        timestamp: { type: 'string', format: 'date-time' },
        version: { type: 'integer', enum: [WEBHOOK_PAYLOAD_VERSION] },
        data: {
          type: 'object',
          properties: { endpointId: { type: 'string', format: 'uuid' }, message: { type: 'string' } },
        },
      },
    },
  };
  const item = (schema: string, summary: string) => ({
    post: {
      summary,
      description:
        'Sent by POST to every enabled endpoint subscribed to the type (Standard Webhooks 1.0). Answer 2xx within WEBHOOK_TIMEOUT_MS; ' +
        'anything else is retried with backoff for about three days; 410 disables the endpoint. See docs/webhooks.md.',
      parameters: HEADERS.map((h) => ({
        in: 'header' as const,
        required: true,
        name: h.name,
        description: h.description,
        schema: { type: 'string' as const },
        example: h.example,
      })),
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
      },
      responses: {
        '2XX': { description: 'Received; nothing more is sent for this event' },
        '410': { description: 'Gone: the endpoint is disabled' },
        default: { description: 'Any other answer, a timeout or a redirect: retried later' },
      },
    },
  });
  const webhooks: NonNullable<OpenAPIObject['webhooks']> = {};
  for (const type of WEBHOOK_EVENT_TYPES) {
    webhooks[type] = item(ORDER_EVENT_SCHEMA, `${type} (order event)`);
  }
  webhooks[TEST_EVENT_TYPE] = item(TEST_EVENT_SCHEMA, 'Sent by POST /webhooks/endpoints/{id}/test');
  document.webhooks = webhooks;
  return document;
}
