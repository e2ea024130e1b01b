import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { UserResponseDto } from '../users/users.dto';
import {
  IsNormalizedEmail,
  MeetsPasswordPolicy,
  toNormalizedEmail,
  PASSWORD_MAX_LENGTH,
} from './credential-rules';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export class RegisterDto {
  @ApiProperty({ example: 'ada@example.com', description: 'Stored trimmed and lower-cased' })
  @IsNormalizedEmail()
  email!: string;

  @ApiProperty({
    example: 'Analytical1843',
    minLength: 8,
    maxLength: PASSWORD_MAX_LENGTH,
    description: '8 to 128 characters with at least one letter and one digit',
  })
  @MeetsPasswordPolicy()
  password!: string;

  @ApiProperty({ example: 'Ada', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  firstName!: string;

  @ApiProperty({ example: 'Lovelace', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  lastName!: string;
}

export class LoginDto {
  @ApiProperty({ example: 'ada@example.com' })
  @Transform(toNormalizedEmail)
  @IsString()
  @IsNotEmpty()
  @MaxLength(254)
  email!: string;

  // No policy check here: a login only compares, and older passwords may predate today's policy.
  @ApiProperty({ example: 'Analytical1843' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password!: string;
}

export class RefreshTokenDto {
  @ApiProperty({
    example: 'mX3u0b7rQ2t3o8ZKp1w0Yd5Y7vH9c2fA1s4eN6gJ8kQ',
    description: 'The opaque refresh token',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  refreshToken!: string;
}

export class AuthSessionDto {
  @ApiProperty({ type: UserResponseDto })
  user!: UserResponseDto;

  @ApiProperty({ description: 'JWT (HS256) for `Authorization: Bearer`', example: 'eyJhbGciOiJIUzI1NiIs...' })
  accessToken!: string;

  @ApiProperty({
    description: 'Opaque, single use: every refresh returns a new one and spends the old one',
    example: 'mX3u0b7rQ2t3o8ZKp1w0Yd5Y7vH9c2fA1s4eN6gJ8kQ',
  })
  refreshToken!: string;

  @ApiProperty({ description: 'Lifetime of the access token in seconds', example: 900 })
  expiresIn!: number;
}
