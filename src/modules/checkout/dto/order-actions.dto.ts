import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { IsOmittable } from '../../../platform/http/validation';
import { IsPrice, parsePrice } from '../../products/price';

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
    oneOf: [{ type: 'string' }, { type: 'number' }],
    description:
      'Decimal amount, as a string or a number like prices (at most 2 decimals); omitted = everything still refundable',
    example: '10.50',
  })
  @IsOmittable()
  @IsPrice()
  // The same rules and canonical string as a product's price: "10.5" and 10.5 both become "10.50".
  @Transform(({ value }: { value: unknown }) => parsePrice(value) ?? value)
  amount?: string;
}
