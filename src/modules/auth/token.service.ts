import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { AuthenticatedUser } from './auth.decorators';
import { UserRole } from '../../platform/http/access.decorators';

export const JWT_ISSUER = 'async-order-processor';
export const JWT_AUDIENCE = 'async-order-processor-api';

interface AccessClaims {
  sub: string;
  email: string;
  role: UserRole;
  jti: string;
  /** The user's token version at signing: a token older than the current version is revoked. */
  ver: number;
}

/**
 * Header fields that name or carry a key. Ours never have them; a token that does was made by someone
 * hoping the verifier trusts the key it brings (RFC 8725 §3.10), so it is refused whatever it says.
 */
const KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'kid', 'crit'];

/** Signs and verifies access tokens: HS256 only, issuer and audience pinned. */
@Injectable()
export class TokenService {
  private readonly jwt: JwtService;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    // A KeyObject, not the string: jsonwebtoken would otherwise try to parse the secret as a PEM key on
    // every verification (a quarter of the API's CPU under load, measured).
    const key = createSecretKey(Buffer.from(config.auth.jwtSecret));
    this.jwt = new JwtService({ privateKey: key, publicKey: key });
  }

  get accessTokenTtlSeconds(): number {
    return this.config.auth.accessTokenTtlSeconds;
  }

  signAccessToken(user: AuthenticatedUser): string {
    const claims: AccessClaims = {
      sub: user.id,
      email: user.email,
      role: user.role,
      jti: randomUUID(),
      ver: user.tokenVersion ?? 0,
    };
    return this.jwt.sign(claims, {
      algorithm: 'HS256',
      expiresIn: this.config.auth.accessTokenTtlSeconds,
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
    });
  }

  /** Returns the user the token proves, or undefined for any token that is not ours, valid and unexpired. */
  verifyAccessToken(token: string): AuthenticatedUser | undefined {
    try {
      const { header, payload: claims } = this.jwt.verify<{
        header: Record<string, unknown>;
        payload: Partial<AccessClaims> & { iat?: number; exp?: number };
      }>(token, {
        algorithms: ['HS256'],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        complete: true,
      });
      // jsonwebtoken accepts a token without `exp`; ours always carry one, so one without never expires: refuse it.
      if (
        KEY_HEADERS.some((field) => field in header) ||
        typeof claims.exp !== 'number' ||
        typeof claims.sub !== 'string' ||
        typeof claims.email !== 'string' ||
        (claims.role !== 'customer' && claims.role !== 'admin') ||
        (claims.ver !== undefined && !Number.isInteger(claims.ver))
      ) {
        return undefined;
      }
      return { id: claims.sub, email: claims.email, role: claims.role, tokenVersion: claims.ver ?? 0 };
    } catch {
      return undefined;
    }
  }
}
