import { BlockList, isIP, SocketAddress } from "node:net";
import { ConfigError } from "../errors";

/**
 * The client address of an HTTP request. `X-Forwarded-For` is client input:
 * anyone can send one. It is believed only as far as a chain of configured
 * trusted proxies vouches for it: starting from the socket peer, while the
 * hop we are looking at is a trusted proxy, the entry it appended (the list's
 * rightmost not yet read) names the hop before it. The first hop that is not
 * a trusted proxy is the client. Entries further left were written by the
 * client itself and are never read.
 */

/** Names for common ranges, as Express's `trust proxy` setting (proxy-addr) spells them. */
const NAMED_RANGES: Readonly<Record<string, readonly string[]>> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  linklocal: ["169.254.0.0/16", "fe80::/10"],
  uniquelocal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
};

interface Range {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/**
 * An address in one form per address: IPv4 dotted, IPv6 as Node prints it
 * (lower case, zeros compressed), and an IPv4-mapped IPv6 address (how a
 * dual-stack socket reports an IPv4 peer, `::ffff:127.0.0.1`) as its IPv4
 * address. Undefined for anything that is not an IP address.
 */
export function canonicalAddress(raw: string): string | undefined {
  const text = raw.trim();
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6) return undefined;
  let address: string;
  try {
    // Drops a zone id (fe80::1%eth0): it names our own interface, not the client.
    address = new SocketAddress({ address: text.replace(/%.*$/, ""), family: "ipv6" }).address;
  } catch {
    return undefined;
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  return mapped ? mapped[1] : address;
}

/** One X-Forwarded-For entry: a bare address, or with a port (`1.2.3.4:80`, `[::1]:80`) as some proxies write. */
function forwardedAddress(entry: string): string | undefined {
  const withPort = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry) ?? /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(entry);
  if (!withPort) return canonicalAddress(entry);
  return withPort[2] === undefined || Number(withPort[2]) <= 65535 ? canonicalAddress(withPort[1]!) : undefined;
}

function parseRange(entry: string): Range[] | undefined {
  const named = NAMED_RANGES[entry.toLowerCase()];
  if (named) return named.map((r) => parseRange(r)![0]!);
  const [addressText, prefixText, ...rest] = entry.split("/");
  if (rest.length || addressText === undefined) return undefined;
  const address = canonicalAddress(addressText);
  if (!address) return undefined;
  const family = isIP(address) === 4 ? "ipv4" : "ipv6";
  const max = family === "ipv4" ? 32 : 128;
  if (prefixText === undefined) return [{ address, prefix: max, family }];
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  let prefix = Number(prefixText);
  // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
  if (family === "ipv4" && isIP(addressText.trim()) === 6) prefix -= 96;
  return prefix >= 0 && prefix <= max ? [{ address, prefix, family }] : undefined;
}

/** The entries of a trusted-proxy list that are neither an IP address, a CIDR range nor a range name. */
export function invalidProxyEntries(entries: readonly string[]): string[] {
  return entries.filter((e) => !parseRange(e.trim()));
}

/** The configured trusted proxies: IP addresses, CIDR ranges (IPv4 and IPv6), and the names loopback, linklocal, uniquelocal. */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  /** Throws ConfigError naming every entry it cannot read (configuration is checked at start, see config/env-schema.ts). */
  constructor(entries: readonly string[]) {
    const invalid = invalidProxyEntries(entries);
    if (invalid.length) {
      throw new ConfigError(`Invalid trusted proxies: ${invalid.join(", ")}`, {
        issues: [{ field: "CORE_TRUSTED_PROXIES", received: invalid.join(","), message: "expected IP addresses or CIDR ranges" }],
      });
    }
    for (const entry of entries) {
      for (const r of parseRange(entry.trim())!) this.list.addSubnet(r.address, r.prefix, r.family);
    }
    this.empty = entries.length === 0;
  }

  /** Whether `address` (in canonical form, see canonicalAddress) is a trusted proxy. */
  has(address: string): boolean {
    if (this.empty) return false;
    return this.list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
  }
}

/**
 * The client address of a request from its socket peer and X-Forwarded-For
 * header, as described at the top of this file. Never throws on client input:
 * an entry that is not an address breaks the chain of trust there, and the
 * client is the last hop that could be read (the trusted proxy that reported
 * the unreadable entry); empty list elements are skipped (RFC 9110 §5.6.1).
 * When every hop is a trusted proxy, the leftmost is the client. Undefined
 * only when the peer itself is unknown (the socket already closed).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trusted: TrustedProxies,
): string | undefined {
  const peerAddress = peer === undefined ? undefined : canonicalAddress(peer);
  if (peerAddress === undefined || !trusted.has(peerAddress) || forwardedFor === undefined) return peerAddress;
  const entries = (typeof forwardedFor === "string" ? [forwardedFor] : forwardedFor).join(",").split(",");
  let client = peerAddress;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!.trim();
    if (!entry) continue;
    const address = forwardedAddress(entry);
    if (address === undefined) return client;
    client = address;
    if (!trusted.has(address)) return client;
  }
  return client;
}
