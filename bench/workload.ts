import { JwtService } from '@nestjs/jwt';
import { randomInt, randomUUID } from 'node:crypto';
import { JWT_AUDIENCE, JWT_ISSUER } from '../src/modules/auth/token.service';
import { benchProductId, benchUserEmail, benchUserId } from './database';

/** Access tokens signed exactly as TokenService does, so no login round trip per user. */
export function mintTokens(secret: string, users: number, ttlSeconds = 3600): string[] {
  const jwt = new JwtService({ secret });
  return Array.from({ length: users }, (_, i) =>
    jwt.sign(
      { sub: benchUserId(i + 1), email: benchUserEmail(i + 1), role: 'customer', jti: randomUUID() },
      { algorithm: 'HS256', expiresIn: ttlSeconds, issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
    ),
  );
}

export interface HttpRequestSpec {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** 1–3 distinct random products, quantities 1–3: the same mix as the pgbench script. */
export function orderBody(products: number): string {
  const count = randomInt(1, 4);
  const chosen = new Set<number>();
  while (chosen.size < count) {
    chosen.add(randomInt(1, products + 1));
  }
  return JSON.stringify({
    items: [...chosen].map((n) => ({ productId: benchProductId(n), quantity: randomInt(1, 4) })),
  });
}

export function placeOrderRequest(tokens: string[], products: number): () => HttpRequestSpec {
  return () => ({
    method: 'POST',
    path: '/api/v1/orders',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${tokens[randomInt(0, tokens.length)]}`,
      'idempotency-key': randomUUID(),
    },
    body: orderBody(products),
  });
}

export function orderStatusRequest(
  tokens: string[],
  orders: { id: string; user: number }[],
): () => HttpRequestSpec {
  return () => {
    const order = orders[randomInt(0, orders.length)];
    return {
      method: 'GET',
      path: `/api/v1/orders/${order.id}/status`,
      headers: { authorization: `Bearer ${tokens[order.user - 1]}` },
    };
  };
}

/** The public listing, pages 1–5 (the first pages are cached by the catalogue). */
export function productListRequest(): () => HttpRequestSpec {
  return () => ({ method: 'GET', path: `/api/v1/products?page=${randomInt(1, 6)}&limit=20`, headers: {} });
}

/** Collects the ids of accepted orders from 202 bodies. */
export function collectOrderIds(into: string[]): (status: number, body: string) => void {
  return (status, body) => {
    if (status === 202) {
      into.push((JSON.parse(body) as { id: string }).id);
    }
  };
}
