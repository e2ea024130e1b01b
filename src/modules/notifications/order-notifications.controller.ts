import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../platform/http/access.decorators';
import { NotificationSummary, NotificationsRepository } from './notifications.repository';

@ApiTags('notifications')
@ApiBearerAuth()
@ApiForbiddenResponse({ description: 'Not an admin' })
@Roles('admin')
@Controller('orders/:id/notifications')
export class OrderNotificationsController {
  constructor(private readonly notifications: NotificationsRepository) {}

  @Get()
  @ApiOperation({ summary: 'The messages sent (or not) about one order, oldest first (admin)' })
  @ApiOkResponse({ description: 'Notification rows without their bodies; an unknown order has none' })
  list(@Param('id', new ParseUUIDPipe()) orderId: string): Promise<NotificationSummary[]> {
    return this.notifications.findByOrder(orderId);
  }
}
