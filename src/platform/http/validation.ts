import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { FieldError } from './domain-error';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** The path of the first string (or key) holding a NUL character, if any. Iterative: bodies may nest deeply. */
export function findNulCharacter(value: unknown, root: string): string | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) {
        return path;
      }
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        const childPath = path ? `${path}.${key}` : key;
        if (key.includes('\u0000')) {
          return childPath;
        }
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/**
 * PostgreSQL text cannot hold NUL, so a NUL anywhere in a body, query or path parameter would reach
 * the database as an encoding error (a 500). No field of this API has a use for it: refuse it here.
 */
class NulRefusingValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query' || metadata.type === 'param') {
      const field = findNulCharacter(value, metadata.type === 'param' ? (metadata.data ?? '') : '');
      if (field !== undefined) {
        const message = `${field || metadata.type} must not contain NUL characters`;
        throw new BadRequestException({
          detail: message,
          errors: [{ field: field || metadata.type, message }],
        });
      }
    }
    return super.transform(value, metadata);
  }
}

/** Whitelisting validation: unknown fields are a 400, every broken rule is listed in `errors[]`. */
export function createValidationPipe(): ValidationPipe {
  return new NulRefusingValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    forbidUnknownValues: true,
    exceptionFactory: (errors) => {
      const fieldErrors = flatten(errors);
      return new BadRequestException({
        detail:
          fieldErrors.length === 1
            ? fieldErrors[0].message
            : `The request has ${fieldErrors.length} invalid fields.`,
        errors: fieldErrors,
      });
    },
  });
}

/**
 * Optional but not nullable: the field may be left out, but `null` is validated like any value (and
 * refused). `@IsOptional()` waves `null` through, which a NOT NULL column then answers with a 500.
 */
export const IsOmittable = (): PropertyDecorator => ValidateIf((_object, value) => value !== undefined);
