import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { KeysetPaginationQueryDto, PageMetaDto } from '../../platform/http/pagination';
import { IsOmittable } from '../../platform/http/validation';
import { IsNormalizedEmail, MeetsPasswordPolicy } from '../auth/credential-rules';
import { USER_ROLES, UserRole } from '../../platform/http/access.decorators';
import { USER_SORT_COLUMNS, UserRecord, UserSortField } from './users.repository';

export const LANGUAGES = ['en', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

const booleanQuery = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

/** What a user may change about themself: names, phone and language. */
export class UpdateProfileDto {
  @ApiPropertyOptional({ example: 'Ada', maxLength: 100 })
  @IsOmittable()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  firstName?: string;

  @ApiPropertyOptional({ example: 'Lovelace', maxLength: 100 })
  @IsOmittable()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  lastName?: string;

  @ApiPropertyOptional({
    example: '+34600111222',
    nullable: true,
    description: 'E.164 format; null clears it',
  })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'phone must be in E.164 format, such as +34600111222' })
  phone?: string | null;

  @ApiPropertyOptional({ enum: LANGUAGES, example: 'es' })
  @IsOmittable()
  @IsIn(LANGUAGES)
  preferredLanguage?: Language;
}

/** PUT /users/:id. Only admins may send `email`, `role` and `isActive`; a customer doing so gets 400. */
export class UpdateUserDto extends UpdateProfileDto {
  @ApiPropertyOptional({ example: 'ada@example.com', description: 'Admin only' })
  @IsOmittable()
  @IsNormalizedEmail()
  email?: string;

  @ApiPropertyOptional({ enum: USER_ROLES, example: 'customer', description: 'Admin only' })
  @IsOmittable()
  @IsIn(USER_ROLES)
  role?: UserRole;

  @ApiPropertyOptional({ example: false, description: 'Admin only; false also ends every session' })
  @IsOmittable()
  @IsBoolean()
  isActive?: boolean;
}

export const ADMIN_ONLY_FIELDS = ['email', 'role', 'isActive'] as const;

export class CreateUserDto {
  @ApiProperty({ example: 'grace@example.com' })
  @IsNormalizedEmail()
  email!: string;

  @ApiProperty({ example: 'Compiler42!', minLength: 8, maxLength: 128, description: 'A letter and a digit' })
  @MeetsPasswordPolicy()
  password!: string;

  @ApiProperty({ example: 'Grace', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  firstName!: string;

  @ApiProperty({ example: 'Hopper', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  lastName!: string;

  @ApiPropertyOptional({ enum: USER_ROLES, default: 'customer' })
  @IsOptional()
  @IsIn(USER_ROLES)
  role?: UserRole;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;

  @ApiPropertyOptional({ example: '+14155550100' })
  @IsOptional()
  @IsString()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'phone must be in E.164 format, such as +34600111222' })
  phone?: string;

  @ApiPropertyOptional({ enum: LANGUAGES, default: 'en' })
  @IsOptional()
  @IsIn(LANGUAGES)
  preferredLanguage?: Language;
}

export class ListUsersQueryDto extends KeysetPaginationQueryDto {
  @ApiPropertyOptional({
    description: 'Part of the email, first or last name (case-insensitive)',
    example: 'ada',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  search?: string;

  @ApiPropertyOptional({ example: true })
  @IsOptional()
  @Transform(booleanQuery)
  @IsBoolean()
  isActive?: boolean;

  @ApiPropertyOptional({ enum: Object.keys(USER_SORT_COLUMNS), default: 'createdAt' })
  @IsOptional()
  @IsIn(Object.keys(USER_SORT_COLUMNS))
  sortBy: UserSortField = 'createdAt';

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  sortOrder: 'asc' | 'desc' = 'desc';
}

/** A user as every response shows it: built field by field, so a password hash can never slip in. */
export class UserResponseDto {
  @ApiProperty({ format: 'uuid', example: '3b241101-e2bb-4255-8caf-4136c566a962' })
  id!: string;

  @ApiProperty({ example: 'ada@example.com' })
  email!: string;

  @ApiProperty({ example: 'Ada' })
  firstName!: string;

  @ApiProperty({ example: 'Lovelace' })
  lastName!: string;

  @ApiProperty({ enum: USER_ROLES, example: 'customer' })
  role!: UserRole;

  @ApiProperty({ example: true })
  isActive!: boolean;

  @ApiProperty({ nullable: true, type: String, example: '+34600111222' })
  phone!: string | null;

  @ApiProperty({ enum: LANGUAGES, example: 'en' })
  preferredLanguage!: Language;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  lastLoginAt!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

export class UserPageDto {
  @ApiProperty({ type: [UserResponseDto] })
  data!: UserResponseDto[];

  @ApiProperty({ type: PageMetaDto })
  meta!: PageMetaDto;
}

export function toUserResponse(user: UserRecord): UserResponseDto {
  return {
    id: user.id,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    role: user.role,
    isActive: user.isActive,
    phone: user.phone,
    preferredLanguage: user.preferredLanguage,
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
