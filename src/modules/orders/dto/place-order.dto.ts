import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { Currency, SUPPORTED_CURRENCIES } from '../../../platform/currencies';

export const PAYMENT_METHODS = ['credit_card', 'debit_card', 'bank_transfer'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

const MAX_ORDER_LINES = 50;

export class OrderLineDto {
  @ApiProperty({ format: 'uuid', example: '9b2f6c1e-3d4a-4a8b-9c1d-2e3f4a5b6c7d' })
  // UUIDs compare case-insensitively: lower-cased here, "each product only once" sees A… and a… as one.
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @IsUUID('all')
  productId!: string;

  @ApiProperty({ minimum: 1, maximum: 1000, example: 2 })
  @IsInt()
  @Min(1)
  @Max(1000)
  quantity!: number;
}

export class PlaceOrderDto {
  @ApiProperty({ type: [OrderLineDto], minItems: 1, maxItems: 50, description: 'Distinct products, 1 to 50' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ORDER_LINES)
  @ArrayUnique((line: OrderLineDto) => line?.productId, { message: 'items must name each product only once' })
  @ValidateNested({ each: true })
  @Type(() => OrderLineDto)
  // A list past the limit is refused anyway; validating all of 10,000 lines held the event loop for about
  // a second and answered 19,000 errors. The first 51 still fail ArrayMaxSize and show what is wrong.
  @Transform(({ value }: { value: unknown }) =>
    Array.isArray(value) && value.length > MAX_ORDER_LINES ? value.slice(0, MAX_ORDER_LINES + 1) : value,
  )
  items!: OrderLineDto[];

  @ApiPropertyOptional({ enum: SUPPORTED_CURRENCIES, default: 'USD' })
  @IsOptional()
  @IsIn(SUPPORTED_CURRENCIES)
  currency?: Currency;

  @ApiPropertyOptional({ enum: PAYMENT_METHODS, default: 'credit_card' })
  @IsOptional()
  @IsIn(PAYMENT_METHODS)
  paymentMethod?: PaymentMethod;

  @ApiPropertyOptional({
    description:
      'A token from the payment gateway; the mock gateway honours test tokens such as tok_success, tok_declined',
    example: 'tok_success',
    maxLength: 100,
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'paymentToken may contain only letters, digits, _ and -' })
  paymentToken?: string;
}
