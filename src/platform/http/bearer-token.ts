const BEARER = /^bearer[ \t]+(.*)$/i;

/** The token of an `Authorization: Bearer <token>` header. Auth schemes are case-insensitive (RFC 9110 §11.1). */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') {
    return undefined;
  }
  const token = BEARER.exec(header)?.[1].trim();
  return token ? token : undefined;
}
