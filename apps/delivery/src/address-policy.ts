import { isForbiddenAddress, parseAllowlist } from "@herald/platform";

/** The connect-time SSRF rule: public addresses, plus whatever the operator's allowlist names. */
export function addressPolicy(allowlistText: string): (address: string) => boolean {
  const allowlist = parseAllowlist(allowlistText);
  return (address) => !isForbiddenAddress(address, allowlist);
}
