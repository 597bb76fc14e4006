import { z } from "zod";
import { parseAllowlist, type UrlAllowlist } from "./address-policy.js";
import { SecretBox } from "./secret-box.js";

// Config fields of Herald's domain settings, for services extending the runtime's config schema.

/** The AES-256-GCM key ring that seals endpoint secrets; see SecretBox. */
export const secretKeyRing = z
  .string({ error: "required: id:base64key[,id:base64key] with 32-byte keys (openssl rand -base64 32)" })
  .superRefine((value, ctx) => {
    try {
      new SecretBox(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  })
  .describe(
    "AES-256-GCM key ring for endpoint secrets and headers: `id:base64key[,…]`; the first seals, all open",
  );

/**
 * `HERALD_URL_ALLOWLIST`: CIDRs, addresses and host names endpoint URLs may point at although they are
 * not public, comma-separated (e.g. `127.0.0.1/32,::1/128,localhost`). Unset or empty allows nothing.
 * Routing and delivery both parse it with this, so they agree on what it allows.
 */
export const urlAllowlist = z
  .string()
  .default("")
  .transform((text, ctx): UrlAllowlist => {
    try {
      return parseAllowlist(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  })
  .describe(
    "CIDRs and host names allowed although not public, e.g. `127.0.0.1/32,::1/128,localhost`; a host name is allowed at whatever it resolves to, at creation and delivery alike; empty allows nothing",
  );

/**
 * `HERALD_OPERATOR_TENANT`: the operator's platform tenant, whose endpoints receive a copy of every
 * tenant's operational events (`herald.*`). Every service that emits them reads it, so they agree.
 */
export const operatorTenant = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{0,64}$/, "must be a tenant id (1-64 letters, digits, _ and -) or empty")
  .default("")
  .describe(
    "tenant whose endpoints receive a copy of every tenant's operational events (`herald.*`, the source tenant in `tenant_id`); empty for none",
  );
