import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPropertyOptional,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { DataSource } from 'typeorm';
import { Roles } from '../../platform/http/access.decorators';
import { offsetOf, Page, pageOf, PaginationQueryDto } from '../../platform/http/pagination';
import { SAGA_STATUSES, SagaStatus } from './saga-status';
import { SagaListItem, SagaRepository } from './saga.repository';

export class ListSagasQuery extends PaginationQueryDto {
  @ApiPropertyOptional({ enum: SAGA_STATUSES, default: 'NEEDS_ATTENTION' })
  @IsOptional()
  @IsIn(SAGA_STATUSES)
  status: SagaStatus = 'NEEDS_ATTENTION';
}

@ApiTags('admin')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Roles('admin')
@Controller('admin/sagas')
export class SagasAdminController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sagas: SagaRepository,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Sagas in one status (NEEDS_ATTENTION unless asked otherwise), most recently changed first',
  })
  @ApiOkResponse({
    description: 'A page of {orderId, status, currentStep, failureReason, pendingCompensations}',
  })
  async list(@Query() query: ListSagasQuery): Promise<Page<SagaListItem>> {
    const { rows, total } = await this.sagas.listByStatus(this.dataSource.manager, query.status, {
      limit: query.limit,
      offset: offsetOf(query.page, query.limit),
    });
    return pageOf(rows, query.page, query.limit, total);
  }
}
