import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { LRUCache } from "lru-cache";

/** Standard Webhooks secrets are "whsec_" + base64 of the key bytes; the prefix is optional. */
export function secretKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
}

/** HMAC keys by secret: setting one up from bytes for every request cost more than the HMAC itself. */
const hmacKeys = new LRUCache<string, KeyObject>({
  max: 10_000,
  memoMethod: (secret) => createSecretKey(secretKeyBytes(secret)),
});

/**
 * The `webhook-signature` header value: one `v1,<base64 HMAC-SHA256>` per secret, space-separated, each
 * over `${msgId}.${timestamp}.` followed by the exact payload bytes. Receivers accept the message if any
 * signature verifies, which is what lets secrets rotate without downtime.
 */
export function signatureHeader(
  secrets: readonly string[],
  msgId: string,
  timestamp: number,
  payload: Uint8Array,
): string {
  const prefix = `${msgId}.${timestamp}.`;
  return secrets
    .map(
      (secret) =>
        `v1,${createHmac("sha256", hmacKeys.memo(secret)).update(prefix).update(payload).digest("base64")}`,
    )
    .join(" ");
}
