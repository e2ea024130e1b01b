import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export const PASSWORD_MIN_LENGTH = 8;
// The upper bound keeps a megabyte "password" from tying up an argon2 thread.
export const PASSWORD_MAX_LENGTH = 128;

/** At least 8 and at most 128 characters, with at least one letter and one digit. */
export function MeetsPasswordPolicy(): PropertyDecorator {
  return applyDecorators(
    IsString(),
    MinLength(PASSWORD_MIN_LENGTH, {
      message: `password must be at least ${PASSWORD_MIN_LENGTH} characters`,
    }),
    MaxLength(PASSWORD_MAX_LENGTH, { message: `password must be at most ${PASSWORD_MAX_LENGTH} characters` }),
    Matches(/\p{L}/u, { message: 'password must contain a letter' }),
    Matches(/\p{Nd}/u, { message: 'password must contain a digit' }),
  );
}

/** Emails are compared and stored trimmed and lower-cased, so they are unique case-insensitively. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** class-transformer step: normalises an email string, leaves anything else for the validators to refuse. */
export function toNormalizedEmail({ value }: { value: unknown }): unknown {
  return typeof value === 'string' ? normalizeEmail(value) : value;
}

/** A valid email, normalised before validation. */
export function IsNormalizedEmail(): PropertyDecorator {
  return applyDecorators(
    Transform(toNormalizedEmail),
    IsString(),
    MaxLength(254),
    IsEmail({}, { message: 'email must be an email address' }),
  );
}
