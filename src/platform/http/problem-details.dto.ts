import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'email' })
  field!: string;

  @ApiProperty({ example: 'email must be an email' })
  message!: string;
}

/** The Swagger schema of every error body (RFC 9457), as written by ProblemDetailsFilter. */
export class ProblemDetailsDto {
  @ApiProperty({ example: '/problems/bad-request' })
  type!: string;

  @ApiProperty({ example: 'Bad Request' })
  title!: string;

  @ApiProperty({ example: 400 })
  status!: number;

  @ApiProperty({ example: 'email must be an email' })
  detail!: string;

  @ApiProperty({ example: '/api/v1/auth/register' })
  instance!: string;

  @ApiPropertyOptional({ example: '6f1c2a52-8f0e-4a4e-9a43-1b0c2f7d9e11' })
  correlationId?: string;

  @ApiPropertyOptional({ example: 'EMAIL_TAKEN', description: 'A stable machine-readable code' })
  code?: string;

  @ApiPropertyOptional({ type: [FieldErrorDto] })
  errors?: FieldErrorDto[];
}
