import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Roles } from '../../platform/http/access.decorators';
import { PaymentRecord, PaymentRepository } from './payment.repository';

@ApiTags('payments')
@ApiBearerAuth()
@ApiForbiddenResponse({ description: 'Not an admin' })
@Roles('admin')
@Controller('orders/:id/payments')
export class OrderPaymentsController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly payments: PaymentRepository,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The charges and refunds of one order, oldest first (admin)' })
  @ApiOkResponse({ description: 'Payment rows; an unknown order has none' })
  list(@Param('id', new ParseUUIDPipe()) orderId: string): Promise<PaymentRecord[]> {
    return this.payments.findByOrder(this.dataSource, orderId);
  }
}
