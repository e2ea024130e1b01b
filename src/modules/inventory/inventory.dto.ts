import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, MaxLength, Max, Min } from 'class-validator';
import { KeysetPaginationQueryDto } from '../../platform/http/pagination';

export class ListInventoryQueryDto extends KeysetPaginationQueryDto {
  @ApiPropertyOptional({ description: 'Only items whose available stock is at or below their threshold.' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  lowStock: boolean = false;
}

export class ReplenishDto {
  @ApiProperty({ minimum: 1, maximum: 1_000_000, example: 25 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  quantity!: number;

  @ApiPropertyOptional({ maxLength: 200, example: 'supplier delivery #4711' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  reason?: string;
}

export class StockLevelsDto {
  @ApiProperty({ format: 'uuid' }) productId!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty() reservedQuantity!: number;
  @ApiProperty() availableQuantity!: number;
}
