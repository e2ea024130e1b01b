/**
 * A domain error: a small class with a stable code, mapped to an RFC 9457 problem in one filter.
 * Subclasses pick the HTTP status that fits a synchronous caller; workers read `code` instead.
 */
export interface FieldError {
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  readonly errors?: FieldError[];

  constructor(message: string, errors?: FieldError[]) {
    super(message);
    this.name = new.target.name;
    this.errors = errors;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  readonly status = 404;
}

export class ConflictError extends DomainError {
  readonly code: string = 'CONFLICT';
  readonly status = 409;

  constructor(message: string, code?: string) {
    super(message);
    if (code) {
      this.code = code;
    }
  }
}

export class UnprocessableError extends DomainError {
  readonly code: string = 'UNPROCESSABLE';
  readonly status = 422;

  constructor(message: string, errors?: FieldError[], code?: string) {
    super(message, errors);
    if (code) {
      this.code = code;
    }
  }
}

export class BadRequestError extends DomainError {
  readonly code = 'BAD_REQUEST';
  readonly status = 400;
}

/** A dependency (PostgreSQL, Redis, the gateway) is down: answer 503 fast, never hang. */
export class ServiceUnavailableError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE';
  readonly status = 503;
}
