import { LookupAddress, lookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * SSRF guard of webhook targets (docs/webhooks.md): the URL's shape at registration, and the addresses
 * its host resolves to, at registration and again on every connection (so a DNS answer changed after
 * registration, DNS rebinding, is caught where it matters).
 */

const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local (also fd00:ec2::254, a cloud metadata address)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');
}

/** True for loopback, private, link-local, metadata and other non-public addresses. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) {
    return FORBIDDEN.check(address, 'ipv4');
  }
  if (family === 6) {
    // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) reaches the IPv4 host.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped ? FORBIDDEN.check(mapped[1], 'ipv4') : FORBIDDEN.check(address, 'ipv6');
  }
  return true;
}

export interface UrlPolicy {
  allowInsecure: boolean;
  allowPrivateTargets: boolean;
}

const MAX_URL_LENGTH = 2048;

/** What is wrong with the URL's shape (scheme, credentials, length), or undefined. No network. */
export function urlShapeProblem(raw: string, policy: UrlPolicy): string | undefined {
  if (raw.length > MAX_URL_LENGTH) {
    return `must be at most ${MAX_URL_LENGTH} characters`;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowInsecure)) {
    return policy.allowInsecure ? 'must use https or http' : 'must use https (plain http is refused)';
  }
  if (url.username || url.password) {
    return 'must not contain credentials';
  }
  if (url.hash) {
    return 'must not contain a fragment';
  }
  return undefined;
}

/** The host of a URL as the resolver wants it (IPv6 literals without brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

export class ForbiddenTargetError extends Error {
  readonly code = 'WEBHOOK_TARGET_FORBIDDEN';
}

function forbiddenMessage(host: string, address: string): string {
  return `${host} resolves to ${address}, a loopback, private, link-local or metadata address`;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request that refuses forbidden addresses: the connection is made to the very
 * addresses checked here, so there is no window between check and connect.
 */
export function guardedLookup(
  hostname: string,
  options: { family?: number | string; all?: boolean },
  callback: LookupCallback,
): void {
  lookup(hostname, { family: Number(options.family ?? 0) || 0, all: true }, (err, addresses) => {
    if (err) {
      callback(err, []);
      return;
    }
    const bad = addresses.find((a) => isForbiddenAddress(a.address));
    if (bad) {
      callback(new ForbiddenTargetError(forbiddenMessage(hostname, bad.address)), []);
      return;
    }
    if (options.all) {
      callback(null, addresses);
    } else {
      callback(null, addresses[0].address, addresses[0].family);
    }
  });
}

/**
 * Refuses a URL whose host is, or resolves to, a forbidden address (registration time). Resolution
 * failures are refused too: a target must exist to be registered.
 */
export async function targetProblem(
  url: URL,
  policy: UrlPolicy,
  timeoutMs = 5000,
): Promise<string | undefined> {
  if (policy.allowPrivateTargets) {
    return undefined;
  }
  const host = hostOf(url);
  if (isIP(host)) {
    return isForbiddenAddress(host) ? forbiddenMessage(host, host) : undefined;
  }
  const addresses = await new Promise<LookupAddress[] | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    lookup(host, { all: true }, (err, found) => {
      clearTimeout(timer);
      resolve(err ? undefined : found);
    });
  });
  if (!addresses || addresses.length === 0) {
    return `host ${host} could not be resolved`;
  }
  const bad = addresses.find((a) => isForbiddenAddress(a.address));
  return bad ? forbiddenMessage(host, bad.address) : undefined;
}
