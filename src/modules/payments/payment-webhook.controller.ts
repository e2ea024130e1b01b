import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../../platform/http/access.decorators';
import { PaymentWebhookService } from './payment-webhook.service';
import { WEBHOOK_SIGNATURE_HEADER } from './webhook-signature';

@ApiTags('payments')
@Controller('payments')
export class PaymentWebhookController {
  constructor(private readonly webhooks: PaymentWebhookService) {}

  @Public()
  @Post('webhook')
  @HttpCode(204)
  @ApiOperation({ summary: 'Settlement callback of the payment gateway (HMAC-SHA256 signed)' })
  @ApiHeader({ name: WEBHOOK_SIGNATURE_HEADER, description: 't=<unix seconds>,v1=<hex HMAC of "t.body">' })
  @ApiNoContentResponse({ description: 'Applied, or already applied before' })
  @ApiUnauthorizedResponse({ description: 'Bad signature or timestamp outside 5 minutes' })
  @ApiBadRequestResponse({ description: 'Not a settlement event' })
  @ApiUnprocessableEntityResponse({
    description:
      'Amount, currency or reference differ from the pending charge (SETTLEMENT_MISMATCH); nothing applied',
  })
  async receive(
    @Req() request: RawBodyRequest<FastifyRequest>,
    @Headers(WEBHOOK_SIGNATURE_HEADER) signature: string | undefined,
  ): Promise<void> {
    await this.webhooks.receive(request.rawBody, signature);
  }
}
