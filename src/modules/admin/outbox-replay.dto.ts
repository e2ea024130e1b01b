import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { IsOmittable } from '../../platform/http/validation';
import { EVENT_SCHEMA_VERSIONS } from '../../platform/outbox/domain-events';

const EVENT_TYPES = Object.keys(EVENT_SCHEMA_VERSIONS);

/** One `eventId`, or an `aggregateId`, or a `from`–`to` window of creation times (they combine). */
export class ReplayOutboxDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Replay this one event (say, a parked one).' })
  @IsOptional()
  @IsUUID()
  eventId?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Replay the events of this aggregate (say, one order).',
  })
  @IsOptional()
  @IsUUID()
  aggregateId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events created at or after this instant.' })
  @IsOptional()
  @IsDateString({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events created before this instant.' })
  @IsOptional()
  @IsDateString({ strict: true })
  to?: string;

  @ApiPropertyOptional({ enum: EVENT_TYPES, description: 'Only events of this type.' })
  @IsOptional()
  @IsIn(EVENT_TYPES)
  eventType?: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 10_000,
    default: 1000,
    description: 'At most this many events, oldest first.',
  })
  // null would become `LIMIT NULL`, i.e. no limit at all.
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(10_000)
  limit: number = 1000;
}

export class ReplayOutboxResultDto {
  @ApiProperty({ description: 'How many events were scheduled for another publication.' }) scheduled!: number;
  @ApiProperty({ type: [String] }) eventIds!: string[];
}
