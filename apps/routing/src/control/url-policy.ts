import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { InvalidArgumentError } from "@herald/platform";
import {
  forbiddenDestinationReason,
  isAllowlistedHostname,
  isLocalhostName,
  type UrlAllowlist,
} from "@herald/platform/model";

// Webhook URLs are chosen by tenants, so Herald checks them when an endpoint is saved: the scheme and
// shape here, the destination with the platform's URL policy (forbiddenDestinationReason), which
// delivery applies again at connect time, as DNS can change after the URL was accepted.

/** What `localhost` and `*.localhost` mean whatever DNS says (RFC 6761), so what they are judged as. */
const LOOPBACK_ADDRESSES = ["127.0.0.1", "::1"];

function stripTrailingDots(hostname: string): string {
  return hostname.replace(/\.+$/, "");
}

/** Resolves a hostname to every address it has. */
export type HostResolver = (hostname: string) => Promise<string[]>;

/** Resolves with the system resolver (getaddrinfo, so /etc/hosts counts), every address. */
export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/** Options of {@link checkEndpointUrl}. */
export interface UrlPolicy {
  allowlist: UrlAllowlist;
  /** Whether plain http is accepted; https only otherwise. */
  allowHttp: boolean;
  /** Default: {@link systemResolver}. Tests inject a fake. */
  resolve?: HostResolver;
  /** How long resolving may take; default 5 s. */
  resolveTimeoutMs?: number;
}

export const MAX_URL_LENGTH = 2048;

const PUBLIC_ONLY =
  "Herald only delivers to public addresses (operators can allow it with HERALD_URL_ALLOWLIST)";

/**
 * Checks that Herald may deliver to `url`: http(s), no credentials or fragment, at most 2048
 * characters, and a host that is and resolves only to public addresses unless allowlisted. Throws an
 * InvalidArgumentError on `field` saying what to fix.
 */
export async function checkEndpointUrl(url: string, policy: UrlPolicy, field = "url"): Promise<void> {
  const fail = (problem: string) => new InvalidArgumentError(field, problem);
  if (url === "") throw fail("required, e.g. https://example.com/webhooks");
  if (url.length > MAX_URL_LENGTH) throw fail(`is ${url.length} characters long; at most ${MAX_URL_LENGTH}`);
  if (url !== url.trim()) throw fail("must not start or end with spaces");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw fail("is not an absolute URL, e.g. https://example.com/webhooks");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw fail(`scheme "${parsed.protocol.slice(0, -1)}" is not supported; use https`);
  }
  if (parsed.protocol === "http:" && !policy.allowHttp) {
    throw fail("must use https (operators can allow http with HERALD_ALLOW_HTTP=true)");
  }
  if (parsed.username || parsed.password) {
    throw fail("must not contain credentials (user:password@); send them in a custom header instead");
  }
  // A bare "#" leaves `hash` empty, so look at the text.
  if (url.includes("#")) throw fail("must not contain a fragment (#…); receivers never see it");

  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0) {
    const reason = forbiddenDestinationReason(host, host, policy.allowlist);
    if (reason) throw fail(`host "${host}" is ${reason}; ${PUBLIC_ONLY}`);
    return;
  }
  const name = stripTrailingDots(host);
  // An allowlisted name is accepted whatever it resolves to, as delivery connects to it.
  if (isAllowlistedHostname(name, policy.allowlist)) return;
  if (isLocalhostName(name)) {
    if (LOOPBACK_ADDRESSES.some((a) => forbiddenDestinationReason(name, a, policy.allowlist))) {
      throw fail(`host "${host}" is this machine (a loopback name); ${PUBLIC_ONLY}`);
    }
    return;
  }

  const addresses = await resolveWithin(policy, name).catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    throw fail(
      `host "${host}" does not resolve${typeof code === "string" ? ` (${code})` : ""}; check the name`,
    );
  });
  if (addresses.length === 0) throw fail(`host "${host}" does not resolve to any address; check the name`);
  for (const address of addresses) {
    const reason = forbiddenDestinationReason(name, address, policy.allowlist);
    if (reason) throw fail(`host "${host}" resolves to ${address}, ${reason}; ${PUBLIC_ONLY}`);
  }
}

async function resolveWithin(policy: UrlPolicy, hostname: string): Promise<string[]> {
  const timeoutMs = policy.resolveTimeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "timed out" })), timeoutMs);
  });
  try {
    return await Promise.race([(policy.resolve ?? systemResolver)(hostname), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
