import { createHmac, createPrivateKey, createSecretKey, type KeyObject, sign } from "node:crypto";
import { LRUCache } from "lru-cache";

/** Standard Webhooks secrets are "whsec_" + base64 of the key bytes; the prefix is optional. */
export function secretKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
}

/** v1a private keys: "whsk_" + base64 of the ed25519 seed followed by the public key (64 bytes). */
export const PRIVATE_KEY_PREFIX = "whsk_";
const ED25519_SEED_BYTES = 32;

/**
 * The ed25519 key of a `whsk_` private key. Its message never carries the key: a malformed one is a
 * bug or a corrupted store, and the error may reach an attempt record.
 */
function ed25519PrivateKey(secret: string): KeyObject {
  const bytes = Buffer.from(secret.slice(PRIVATE_KEY_PREFIX.length), "base64");
  if (bytes.length !== 2 * ED25519_SEED_BYTES) {
    throw new Error("a whsk_ signing key does not decode to 64 bytes (ed25519 seed and public key)");
  }
  return createPrivateKey({
    key: {
      kty: "OKP",
      crv: "Ed25519",
      d: bytes.subarray(0, ED25519_SEED_BYTES).toString("base64url"),
      x: bytes.subarray(ED25519_SEED_BYTES).toString("base64url"),
    },
    format: "jwk",
  });
}

/** Keys by secret: setting one up from bytes for every request cost more than the HMAC itself. */
const signingKeys = new LRUCache<string, KeyObject>({
  max: 10_000,
  memoMethod: (secret) =>
    secret.startsWith(PRIVATE_KEY_PREFIX)
      ? ed25519PrivateKey(secret)
      : createSecretKey(secretKeyBytes(secret)),
});

/**
 * The `webhook-signature` header value: one signature per secret, space-separated, each over
 * `${msgId}.${timestamp}.` followed by the exact payload bytes. A `whsec_` secret gives `v1,<base64
 * HMAC-SHA256>`, a `whsk_` private key `v1a,<base64 ed25519>`. Receivers accept the message if any
 * signature verifies, which is what lets secrets rotate, even from one scheme to the other, without
 * downtime.
 */
export function signatureHeader(
  secrets: readonly string[],
  msgId: string,
  timestamp: number,
  payload: Uint8Array,
): string {
  const prefix = `${msgId}.${timestamp}.`;
  let signed: Buffer | undefined; // ed25519 signs one buffer: joined once, for every v1a key
  return secrets
    .map((secret) => {
      const key = signingKeys.memo(secret);
      if (secret.startsWith(PRIVATE_KEY_PREFIX)) {
        signed ??= Buffer.concat([Buffer.from(prefix), payload]);
        return `v1a,${sign(null, signed, key).toString("base64")}`;
      }
      return `v1,${createHmac("sha256", key).update(prefix).update(payload).digest("base64")}`;
    })
    .join(" ");
}
