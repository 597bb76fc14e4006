import { BlockList, isIP } from "node:net";

// Webhook URLs are chosen by tenants, so without these checks Herald would POST wherever a tenant
// points it: its own loopback, the cluster network, the cloud metadata service (SSRF). Routing checks
// the URL when an endpoint is saved; delivery checks the address it actually connects to, since DNS
// can change after the URL was accepted. Both ask the same question, forbiddenDestinationReason, so
// what one accepts the other delivers to.

/** Address ranges and hostnames an operator allows although they are not public. */
export interface UrlAllowlist {
  /** Ranges from CIDR (or single address) entries. */
  readonly ranges: BlockList;
  /** Exact hostnames, lower case, without a trailing dot. */
  readonly hostnames: ReadonlySet<string>;
}

const HOSTNAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/**
 * Parses `HERALD_URL_ALLOWLIST`: comma-separated CIDRs (`10.1.0.0/16`, `fd00::/8`), single addresses and
 * hostnames. Throws an Error naming the bad entry.
 */
export function parseAllowlist(text: string): UrlAllowlist {
  const ranges = new BlockList();
  const hostnames = new Set<string>();
  for (const entry of text
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [address = "", prefixText, extra] = entry.split("/");
    const family = isIP(address);
    if (family !== 0 && extra === undefined) {
      const bits = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? bits : Number(prefixText);
      if (!/^\d+$/.test(prefixText ?? "0") || prefix > bits) {
        throw new Error(`"${entry}": the prefix length must be 0-${bits}`);
      }
      ranges.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
      continue;
    }
    const hostname = stripTrailingDots(entry.toLowerCase());
    if (prefixText !== undefined || !HOSTNAME.test(hostname)) {
      throw new Error(`"${entry}" is neither a CIDR (10.0.0.0/8, fd00::/8), an address nor a hostname`);
    }
    hostnames.add(hostname);
  }
  return { ranges, hostnames };
}

/** An allowlist that allows nothing. */
export const EMPTY_ALLOWLIST: UrlAllowlist = parseAllowlist("");

/** Whether the operator allowlisted `hostname` by name (case and trailing dots do not matter). */
export function isAllowlistedHostname(hostname: string, allowlist: UrlAllowlist): boolean {
  return allowlist.hostnames.has(stripTrailingDots(hostname.replace(/^\[|\]$/g, "").toLowerCase()));
}

/**
 * The one URL policy: why Herald must not connect to `address` when the URL names `host`, or undefined
 * when it may. A host name the operator allowlisted may be reached at whatever it resolves to (that is
 * what naming it means); any other host, or an IP literal, only at public or allowlisted addresses.
 * Endpoint creation and update ask it for every address the host resolves to, and delivery for the
 * address it is about to connect to.
 */
export function forbiddenDestinationReason(
  host: string,
  address: string,
  allowlist: UrlAllowlist,
): string | undefined {
  if (isAllowlistedHostname(host, allowlist)) return undefined;
  return forbiddenAddressReason(address, allowlist);
}

type Range = readonly [address: string, prefix: number, reason: string];

// First match wins, so specific entries (metadata, broadcast) precede the ranges that contain them.
const IPV4_RANGES: Range[] = [
  ["0.0.0.0", 8, 'an unspecified ("this network") address'],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a carrier-grade NAT (shared) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.169.254", 32, "the cloud metadata address"],
  ["169.254.0.0", 16, "a link-local address"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "an IETF protocol assignment address"],
  ["192.0.2.0", 24, "a documentation address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["198.51.100.0", 24, "a documentation address"],
  ["203.0.113.0", 24, "a documentation address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["255.255.255.255", 32, "the broadcast address"],
  ["240.0.0.0", 4, "a reserved address"],
];

const IPV6_RANGES: Range[] = [
  ["::", 128, "the unspecified address"],
  ["::1", 128, "a loopback address"],
  ["fd00:ec2::254", 128, "the cloud metadata address"],
  ["fe80::", 10, "a link-local address"],
  ["fec0::", 10, "a site-local address"],
  ["fc00::", 7, "a unique-local (private) address"],
  ["ff00::", 8, "a multicast address"],
  ["2001:db8::", 32, "a documentation address"],
  ["100::", 64, "a discard-only address"],
  ["64:ff9b:1::", 48, "a local-use NAT64 address"],
  // Teredo hides the client's IPv4 address (obfuscated) in the last bits: refuse it rather than decode.
  ["2001::", 32, "a Teredo tunnel address"],
  // IPv4-compatible addresses are deprecated (RFC 4291) and never routed.
  ["::", 96, "a deprecated IPv4-compatible address"],
];

function rangeTable(ranges: Range[], family: "ipv4" | "ipv6") {
  return ranges.map(([address, prefix, reason]) => {
    const list = new BlockList();
    list.addSubnet(address, prefix, family);
    return { list, reason };
  });
}

const IPV4_TABLE = rangeTable(IPV4_RANGES, "ipv4");
const IPV6_TABLE = rangeTable(IPV6_RANGES, "ipv6");

/** The eight 16-bit words of a valid IPv6 address, including one ending in a dotted IPv4 part. */
function ipv6Words(ip: string): number[] {
  let text = ip;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) !== -1) {
    const [a = 0, b = 0, c = 0, d = 0] = text
      .slice(lastColon + 1)
      .split(".")
      .map(Number);
    tail = [(a << 8) | b, (c << 8) | d];
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head = "", rest] = text.split("::");
  const headWords = head ? head.split(":") : [];
  const restWords = rest ? rest.split(":") : [];
  const zeros = rest === undefined ? [] : Array(8 - headWords.length - restWords.length).fill("0");
  const words = [...headWords, ...zeros, ...restWords].map((w) => Number.parseInt(w, 16));
  if (tail.length === 2) words.splice(6, 2, ...tail);
  return words;
}

function wordsToIpv4(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/**
 * The IPv4 address an IPv6 address carries and is routed to: IPv4-mapped `::ffff:a.b.c.d` (also written
 * `::ffff:7f00:1`), IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and 6to4
 * `2002:AABB:CCDD::`. Undefined for any other address.
 */
export function embeddedIpv4(ipv6: string): string | undefined {
  const w = ipv6Words(ipv6);
  const zeroUpTo = (n: number) => w.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(5) && w[5] === 0xffff) return wordsToIpv4(w[6] ?? 0, w[7] ?? 0);
  if (zeroUpTo(4) && w[4] === 0xffff && w[5] === 0) return wordsToIpv4(w[6] ?? 0, w[7] ?? 0);
  if (w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0)) {
    return wordsToIpv4(w[6] ?? 0, w[7] ?? 0);
  }
  if (w[0] === 0x2002) return wordsToIpv4(w[1] ?? 0, w[2] ?? 0);
  return undefined;
}

function isAllowed(ip: string, family: "ipv4" | "ipv6", allowlist: UrlAllowlist): boolean {
  return allowlist.ranges.check(ip, family);
}

function classifyIpv4(ip: string): string | undefined {
  return IPV4_TABLE.find(({ list }) => list.check(ip, "ipv4"))?.reason;
}

/**
 * Why Herald must not connect to `ip`, e.g. "a private address", or undefined when it may (a public
 * address, or one the allowlist permits). Anything that is not an IP address is forbidden.
 */
export function forbiddenAddressReason(ip: string, allowlist: UrlAllowlist): string | undefined {
  const address = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const family = isIP(address);
  if (family === 4) {
    if (isAllowed(address, "ipv4", allowlist)) return undefined;
    return classifyIpv4(address);
  }
  if (family !== 6) return "not an IP address";
  const v4 = embeddedIpv4(address);
  if (isAllowed(address, "ipv6", allowlist) || (v4 && isAllowed(v4, "ipv4", allowlist))) return undefined;
  if (v4) {
    const reason = classifyIpv4(v4);
    if (reason) return `${reason} (it carries the IPv4 address ${v4})`;
  }
  return IPV6_TABLE.find(({ list }) => list.check(address, "ipv6"))?.reason;
}

/** Whether Herald must not connect to `ip`; see {@link forbiddenAddressReason}. */
export function isForbiddenAddress(ip: string, allowlist: UrlAllowlist): boolean {
  return forbiddenAddressReason(ip, allowlist) !== undefined;
}

function stripTrailingDots(hostname: string): string {
  return hostname.replace(/\.+$/, "");
}

/** `localhost` and `*.localhost` always mean this machine (RFC 6761), whatever DNS says. */
export function isLocalhostName(hostname: string): boolean {
  const name = stripTrailingDots(hostname.toLowerCase());
  return name === "localhost" || name.endsWith(".localhost");
}
