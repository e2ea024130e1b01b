import { Body, Controller, Get, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { NotFoundError, UnprocessableError } from '../../platform/http/domain-error';
import type { AuthenticatedUser } from '../auth/auth.decorators';
import { CurrentUser } from '../auth/auth.decorators';
import { NotificationPreferencesDto, UpdateNotificationPreferencesDto } from './notification-preferences.dto';
import { NotificationPreferencesRepository, preferencesOf } from './notification-preferences';
import { toE164 } from './sms.provider';

@ApiTags('notifications')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@Controller('users/profile/notifications')
export class NotificationPreferencesController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly preferences: NotificationPreferencesRepository,
  ) {}

  @Get()
  @ApiOperation({ summary: 'My notification preferences' })
  @ApiOkResponse({ type: NotificationPreferencesDto })
  async get(@CurrentUser() user: AuthenticatedUser): Promise<NotificationPreferencesDto> {
    const recipient = await this.preferences.findRecipient(this.dataSource, user.id);
    if (!recipient) {
      throw new NotFoundError('User not found.');
    }
    return preferencesOf(recipient);
  }

  @Put()
  @ApiOperation({ summary: 'Change my notification preferences (fields left out keep their value)' })
  @ApiOkResponse({ type: NotificationPreferencesDto })
  @ApiBadRequestResponse({ description: 'Invalid field' })
  @ApiUnprocessableEntityResponse({ description: 'SMS enabled without a phone number' })
  async update(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: UpdateNotificationPreferencesDto,
  ): Promise<NotificationPreferencesDto> {
    const phone = body.phone === undefined || body.phone === null ? body.phone : toE164(body.phone);
    if (phone === undefined && body.phone !== undefined) {
      throw new UnprocessableError('phone is not a valid E.164 number', [
        { field: 'phone', message: 'phone must be an E.164 number such as +14155552671' },
      ]);
    }
    return this.preferences.update(this.dataSource, user.id, { ...body, phone });
  }
}
