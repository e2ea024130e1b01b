import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { PaginationQueryDto } from '../../platform/http/pagination';
import { DEAD_LETTER_STATUSES, DeadLetterStatus } from '../../platform/queue/dead-letter.store';
import { FAILURE_REASONS } from '../../platform/queue/job-errors';
import { QUEUES } from '../../platform/queue/queue-names';

export class ListDeadLettersQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ enum: Object.values(QUEUES) })
  @IsOptional()
  @IsIn(Object.values(QUEUES))
  queue?: string;

  @ApiPropertyOptional({ enum: FAILURE_REASONS, description: 'Why the job ended here.' })
  @IsOptional()
  @IsIn(FAILURE_REASONS)
  reason?: string;

  @ApiPropertyOptional({ enum: DEAD_LETTER_STATUSES })
  @IsOptional()
  @IsIn(DEAD_LETTER_STATUSES)
  status?: DeadLetterStatus;
}

export class ReplayDeadLetterDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Corrected job data; replaces the stored data. Omit to replay the job as it was.',
  })
  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;
}

export class DiscardDeadLetterQueryDto {
  @ApiPropertyOptional({ maxLength: 500, description: 'Why it is discarded (kept in the audit log).' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class DeadLetterDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: Object.values(QUEUES) }) queue!: string;
  @ApiProperty() jobName!: string;
  @ApiProperty() jobId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) payload!: unknown;
  @ApiProperty() error!: string;
  @ApiProperty({ enum: FAILURE_REASONS }) failureReason!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ enum: DEAD_LETTER_STATUSES }) status!: DeadLetterStatus;
  @ApiProperty() replayCount!: number;
  @ApiProperty({ nullable: true, type: String }) replayedJobId!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why the system itself closed it (RESOLVED)' })
  resolution!: string | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
}
