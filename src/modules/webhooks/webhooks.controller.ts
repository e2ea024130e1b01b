import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Roles } from '../../platform/http/access.decorators';
import { Page, PaginationQueryDto } from '../../platform/http/pagination';
import { ProblemDetailsDto } from '../../platform/http/problem-details.dto';
import { WebhookDelivery } from './webhook-deliveries.repository';
import { WebhookEndpoint } from './webhook-endpoints.repository';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import {
  CreateWebhookEndpointDto,
  ListWebhookDeliveriesQueryDto,
  UpdateWebhookEndpointDto,
  WebhookDeliveryDto,
  WebhookEndpointDto,
  WebhookEndpointWithSecretDto,
} from './webhooks.dto';

/** Outbound webhooks, for admins (docs/webhooks.md). The payloads are in the document's `webhooks`. */
@ApiTags('webhooks')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Roles('admin')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly service: WebhookEndpointsService) {}

  @Post('endpoints')
  @ApiOperation({
    summary: 'Register an endpoint; the answer holds its signing secret (shown only here and on rotation)',
  })
  @ApiCreatedResponse({ type: WebhookEndpointWithSecretDto })
  @ApiBadRequestResponse({
    type: ProblemDetailsDto,
    description: 'Bad or refused URL, unknown event type, empty events (the field is named)',
  })
  create(@Body() body: CreateWebhookEndpointDto): Promise<WebhookEndpoint & { secret: string }> {
    return this.service.create(body);
  }

  @Get('endpoints')
  @ApiOperation({ summary: 'Registered endpoints, newest first' })
  @ApiOkResponse({ description: 'A page of endpoints (WebhookEndpointDto)' })
  list(@Query() query: PaginationQueryDto): Promise<Page<WebhookEndpoint>> {
    return this.service.list(query.page, query.limit);
  }

  @Get('endpoints/:id')
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiNotFoundResponse({ type: ProblemDetailsDto })
  get(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookEndpoint> {
    return this.service.get(id);
  }

  @Patch('endpoints/:id')
  @ApiOperation({
    summary: 'Change url, events, description or status (disabling discards pending deliveries)',
  })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiBadRequestResponse({ type: ProblemDetailsDto })
  @ApiNotFoundResponse({ type: ProblemDetailsDto })
  update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateWebhookEndpointDto,
  ): Promise<WebhookEndpoint> {
    return this.service.update(id, body);
  }

  @Delete('endpoints/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Deleted with its deliveries' })
  @ApiNotFoundResponse({ type: ProblemDetailsDto })
  async delete(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.service.delete(id);
  }

  @Post('endpoints/:id/rotate-secret')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'A new signing secret; the old one still signs too during WEBHOOK_SECRET_GRACE_SECONDS',
  })
  @ApiOkResponse({ type: WebhookEndpointWithSecretDto })
  @ApiNotFoundResponse({ type: ProblemDetailsDto })
  rotateSecret(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookEndpoint & { secret: string }> {
    return this.service.rotateSecret(id);
  }

  @Post('endpoints/:id/test')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Deliver a `webhook.test` event now' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  @ApiNotFoundResponse({ type: ProblemDetailsDto })
  @ApiConflictResponse({
    type: ProblemDetailsDto,
    description: 'The endpoint is disabled (ENDPOINT_DISABLED)',
  })
  sendTest(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookDelivery> {
    return this.service.sendTest(id);
  }

  @Get('endpoints/:id/deliveries')
  @ApiOperation({
    summary: "An endpoint's deliveries, newest first: attempts, last answer, next attempt, outcome",
  })
  @ApiOkResponse({ description: 'A page of deliveries (WebhookDeliveryDto)' })
  @ApiNotFoundResponse({ type: ProblemDetailsDto })
  deliveries(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: ListWebhookDeliveriesQueryDto,
  ): Promise<Page<WebhookDelivery>> {
    return this.service.listDeliveries(id, query);
  }

  @Post('deliveries/:id/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Deliver again now, with the same webhook-id and body' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  @ApiNotFoundResponse({ type: ProblemDetailsDto })
  @ApiConflictResponse({ type: ProblemDetailsDto, description: 'Endpoint disabled, or an attempt in flight' })
  retry(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookDelivery> {
    return this.service.retry(id);
  }
}
