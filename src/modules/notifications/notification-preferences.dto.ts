import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsPhoneNumber, ValidateIf, ValidateNested } from 'class-validator';
import { IsOmittable } from '../../platform/http/validation';
import { Language, LANGUAGES } from './notification-templates';

export class NotificationChannelsDto {
  @ApiProperty({ example: true })
  @IsBoolean()
  email!: boolean;

  @ApiProperty({ example: false })
  @IsBoolean()
  sms!: boolean;
}

export class NotificationPreferencesDto {
  @ApiProperty({ type: NotificationChannelsDto })
  channels!: NotificationChannelsDto;

  @ApiProperty({ enum: LANGUAGES, example: 'en' })
  language!: Language;

  @ApiProperty({ description: 'Only critical messages (order confirmation, payment failure, cancellation)' })
  nonCriticalOptOut!: boolean;

  @ApiProperty({ description: 'No marketing messages' })
  marketingOptOut!: boolean;

  @ApiProperty({ type: String, nullable: true, example: '+14155552671', description: 'E.164, for SMS' })
  phone!: string | null;
}

/** Either channel may be left out (it keeps its value), but neither may be null. */
export class UpdateNotificationChannelsDto {
  @ApiPropertyOptional({ example: true })
  @IsOmittable()
  @IsBoolean()
  email?: boolean;

  @ApiPropertyOptional({ example: false })
  @IsOmittable()
  @IsBoolean()
  sms?: boolean;
}

/** A partial update, down to each channel: fields left out keep their value; `phone: null` removes the number. */
export class UpdateNotificationPreferencesDto {
  @ApiPropertyOptional({ type: UpdateNotificationChannelsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => UpdateNotificationChannelsDto)
  channels?: UpdateNotificationChannelsDto;

  @ApiPropertyOptional({ enum: LANGUAGES })
  @IsOptional()
  @IsIn(LANGUAGES)
  language?: Language;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  nonCriticalOptOut?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  marketingOptOut?: boolean;

  @ApiPropertyOptional({ type: String, nullable: true, example: '+14155552671' })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsPhoneNumber(undefined, { message: 'phone must be an E.164 number such as +14155552671' })
  phone?: string | null;
}
