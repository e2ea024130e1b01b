import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PaginationQueryDto } from '../../../platform/http/pagination';
import { ORDER_STATUSES, OrderStatus } from '../order-status';

const AMOUNT = /^\d{1,10}(\.\d{1,2})?$/;

/** The list's filters; a customer's list is always their own, so `email` narrows only an admin's. */
export class ListOrdersQuery extends PaginationQueryDto {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;

  @ApiPropertyOptional({ format: 'uuid', description: 'One order by its id.' })
  @IsOptional()
  @IsUUID()
  id?: string;

  @ApiPropertyOptional({ maxLength: 254, description: 'Customer email contains this (case-insensitive).' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Placed at or after this instant.' })
  @IsOptional()
  @IsDateString()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Placed before this instant.' })
  @IsOptional()
  @IsDateString()
  to?: string;

  @ApiPropertyOptional({ example: '10.00', description: 'Total at least this (order currency).' })
  @IsOptional()
  @Matches(AMOUNT, { message: 'minAmount must be a decimal amount such as 10 or 10.50' })
  minAmount?: string;

  @ApiPropertyOptional({ example: '500.00', description: 'Total at most this (order currency).' })
  @IsOptional()
  @Matches(AMOUNT, { message: 'maxAmount must be a decimal amount such as 10 or 10.50' })
  maxAmount?: string;
}
