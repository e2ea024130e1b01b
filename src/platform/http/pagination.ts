import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const MAX_PAGE_SIZE = 100;

/** `?page=1&limit=20` of every list (DESIGN §5), limit at most 100; extend it with the list's own filters. */
export class PaginationQueryDto {
  @ApiPropertyOptional({ minimum: 1, default: 1, example: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page: number = 1;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20, example: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = 20;
}

/**
 * The lists that can grow without bound (orders, products, users, inventory, dead letters) also page by
 * keyset: `?limit=20&cursor=<meta.nextCursor>`; built once in platform/database/keyset-page.ts.
 */
export class KeysetPaginationQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({
    description:
      'Keyset paging: the `meta.nextCursor` of the previous page (opaque). Pages follow creation time and id, so ' +
      'they cost the same at any depth and inserts never shift them; `page` and the sort options are then ignored. ' +
      'An empty value starts at the top. A cursor this list did not issue is a 400 naming `cursor`.',
    example: 'WyIyMDI2LTEyLTAyVDAyOjQyOjM5LjEyMzQ1NloiLCI0ZjJkOWI2ZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAiXQ',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class PageMetaDto {
  @ApiProperty({ example: 1, nullable: true, type: Number, description: 'null on a cursor page' })
  page!: number | null;

  @ApiProperty({ example: 20 })
  limit!: number;

  @ApiProperty({
    example: 42,
    description: "Exact up to 10,000 matching rows; past that the planner's estimate (see totalIsEstimate).",
  })
  total!: number;

  @ApiProperty({ example: 3 })
  totalPages!: number;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page (keyset lists only).',
  })
  nextCursor?: string | null;

  @ApiPropertyOptional({ example: true, description: 'Present (true) when `total` is an estimate.' })
  totalIsEstimate?: boolean;
}

/** What a list handler passes to the page builders. */
export interface PageRequest {
  page: number;
  limit: number;
  /** Present (even empty) for a keyset page. */
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  meta: PageMetaDto;
}

export function pageOf<T>(data: T[], page: number, limit: number, total: number): Page<T> {
  return { data, meta: { page, limit, total, totalPages: Math.ceil(total / limit) } };
}

export const offsetOf = (page: number, limit: number): number => (page - 1) * limit;
