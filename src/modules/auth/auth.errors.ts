import { DomainError } from '../../platform/http/domain-error';

/** One answer for an unknown email, a wrong password and a disabled account: no user enumeration. */
export class InvalidCredentialsError extends DomainError {
  readonly code = 'INVALID_CREDENTIALS';
  readonly status = 401;

  constructor() {
    super('The email or password is incorrect.');
  }
}

export class InvalidRefreshTokenError extends DomainError {
  readonly code = 'INVALID_REFRESH_TOKEN';
  readonly status = 401;

  constructor() {
    super('The refresh token is invalid, expired or already used; log in again.');
  }
}
