import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { KeysetPaginationQueryDto, PaginationQueryDto } from '../../platform/http/pagination';
import { IsPrice, parsePrice } from './price';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);
const toPrice = ({ value }: { value: unknown }): unknown => parsePrice(value) ?? value;
const upper = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.toUpperCase() : value;

/** The fields PUT replaces and POST creates; PATCH takes any subset of them. */
export class ProductFieldsDto {
  @ApiProperty({ example: 'KB-MECH-001', maxLength: 64 })
  @Transform(trim)
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: 'sku must be 1-64 letters, digits, dots, dashes or underscores',
  })
  sku!: string;

  @ApiProperty({ example: 'Mechanical Keyboard', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ example: 'Tenkeyless, hot-swappable switches.', maxLength: 5000 })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'number' }],
    example: '89.90',
    description: 'Positive, at most 2 decimals and at most 9999999999.99; answered as a decimal string.',
  })
  @IsPrice()
  @Transform(toPrice)
  price!: string;

  @ApiPropertyOptional({ example: 'USD', default: 'USD' })
  @IsOptional()
  @Transform(upper)
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a 3-letter ISO 4217 code' })
  currency?: string;

  @ApiPropertyOptional({ example: 'peripherals', maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  category?: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;
}

export class CreateProductDto extends ProductFieldsDto {
  @ApiPropertyOptional({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Stock to start with.' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  initialStock?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1_000_000, default: 10 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  lowStockThreshold?: number;
}

export class PatchProductDto extends PartialType(ProductFieldsDto) {}

export const SORT_FIELDS = ['name', 'price', 'createdAt'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export class ListProductsQueryDto extends KeysetPaginationQueryDto {
  @ApiPropertyOptional({
    description: 'Case-insensitive substring of the name or description.',
    maxLength: 200,
  })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  search?: string;

  @ApiPropertyOptional({ example: '10.00' })
  @IsOptional()
  @IsPrice()
  @Transform(toPrice)
  minPrice?: string;

  @ApiPropertyOptional({ example: '100.00' })
  @IsOptional()
  @IsPrice()
  @Transform(toPrice)
  maxPrice?: string;

  @ApiPropertyOptional({ enum: SORT_FIELDS, default: 'createdAt' })
  @IsOptional()
  @IsIn(SORT_FIELDS)
  sortBy?: SortField;

  @ApiPropertyOptional({ enum: ['ASC', 'DESC'], description: 'Default DESC for createdAt, ASC otherwise.' })
  @IsOptional()
  @Transform(upper)
  @IsIn(['ASC', 'DESC'])
  sortOrder?: 'ASC' | 'DESC';
}

export class SearchProductsQueryDto extends PaginationQueryDto {
  @ApiProperty({
    description: 'Words to find (web search syntax: "quoted phrase", -exclude, or).',
    maxLength: 200,
  })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  q!: string;
}

export class ProductDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() sku!: string;
  @ApiProperty() name!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ example: '89.90' }) price!: string;
  @ApiProperty({ example: 'USD' }) currency!: string;
  @ApiProperty({ nullable: true, type: String }) category!: string | null;
  @ApiProperty() isActive!: boolean;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}
