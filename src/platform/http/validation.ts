import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError } from './domain-error';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Whitelisting validation: unknown fields are a 400, every broken rule is listed in `errors[]`. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
