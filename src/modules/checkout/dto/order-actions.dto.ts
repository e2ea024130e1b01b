import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class ShipOrderDto {
  @ApiProperty({ example: '1Z999AA10123456784', minLength: 3, maxLength: 100 })
  @IsString()
  @MinLength(3)
  @MaxLength(100)
  @Matches(/^[A-Za-z0-9 -]+$/, { message: 'trackingNumber may contain letters, digits, spaces and -' })
  trackingNumber!: string;
}

export class RefundOrderDto {
  @ApiPropertyOptional({
    description: 'Decimal amount; omitted = everything still refundable',
    example: '10.50',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,10}(\.\d{1,2})?$/, {
    message: 'amount must be a positive decimal with at most 2 decimals, as a string',
  })
  amount?: string;
}
