import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { KeysetPaginationQueryDto } from '../../../platform/http/pagination';
import { ORDER_STATUSES, OrderStatus } from '../order-status';

export class ListOrdersQuery extends KeysetPaginationQueryDto {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;
}
