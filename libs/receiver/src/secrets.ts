import { decodeBase64 } from "./base64.js";
import { WebhookVerificationError } from "./errors.js";

/**
 * A signing secret or a public key:
 * - `whsec_<base64>` or bare `<base64>`: an HMAC-SHA256 secret, checked against `v1` signatures;
 * - `whpk_<base64>`: an ed25519 public key (32 bytes), checked against `v1a` signatures;
 * - `Uint8Array`: raw HMAC secret bytes.
 */
export type WebhookSecret = string | Uint8Array;

/** Keys decoded once at construction, by kind. */
export interface SigningKeys {
  readonly hmac: readonly Uint8Array<ArrayBuffer>[];
  readonly ed25519: readonly Uint8Array<ArrayBuffer>[];
}

const SECRET_PREFIX = "whsec_";
const PUBLIC_KEY_PREFIX = "whpk_";
/** Below 128 bits an HMAC key is weaker than the hash; Standard Webhooks recommends 24 to 64 bytes. */
export const MIN_SECRET_BYTES = 16;
const ED25519_PUBLIC_KEY_BYTES = 32;

/**
 * Decodes every secret and public key, or throws `invalid_secret` naming which one is wrong (by position,
 * never by value). `format: "raw"` takes strings as the key bytes themselves, as `standardwebhooks` does.
 */
export function parseSigningKeys(
  secrets: WebhookSecret | readonly WebhookSecret[],
  format: "raw" | undefined,
): SigningKeys {
  const list: readonly unknown[] = Array.isArray(secrets) ? secrets : [secrets];
  if (list.length === 0) throw invalidSecret("No secret given: pass the endpoint's whsec_ signing secret.");
  const hmac: Uint8Array<ArrayBuffer>[] = [];
  const ed25519: Uint8Array<ArrayBuffer>[] = [];
  list.forEach((secret, index) => {
    const which = list.length === 1 ? "The secret" : `Secret ${index + 1} of ${list.length}`;
    if (typeof secret === "string" && format !== "raw" && secret.startsWith(PUBLIC_KEY_PREFIX)) {
      ed25519.push(decodePublicKey(secret.slice(PUBLIC_KEY_PREFIX.length), which));
    } else {
      hmac.push(decodeSecret(secret, format, which));
    }
  });
  return { hmac, ed25519 };
}

function decodeSecret(secret: unknown, format: "raw" | undefined, which: string): Uint8Array<ArrayBuffer> {
  let key: Uint8Array<ArrayBuffer> | undefined;
  if (secret instanceof Uint8Array) {
    key = new Uint8Array(secret); // a copy: the caller may reuse its buffer
  } else if (typeof secret !== "string") {
    throw invalidSecret(`${which} must be a string or a Uint8Array, got ${describeType(secret)}.`);
  } else if (format === "raw") {
    // Same as standardwebhooks: one byte per UTF-16 code unit.
    key = Uint8Array.from(secret, (char) => char.charCodeAt(0));
  } else {
    const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
    key = decodeBase64(encoded);
    if (key === undefined) {
      throw invalidSecret(
        `${which} is not valid base64 after the optional whsec_ prefix. Copy the whole secret from the ` +
          'endpoint settings, or pass { format: "raw" } if it is not base64.',
      );
    }
  }
  if (key.length === 0) throw invalidSecret(`${which} is empty.`);
  if (key.length < MIN_SECRET_BYTES) {
    throw invalidSecret(`${which} is ${key.length} bytes; at least ${MIN_SECRET_BYTES} are required.`);
  }
  return key;
}

function decodePublicKey(encoded: string, which: string): Uint8Array<ArrayBuffer> {
  const key = decodeBase64(encoded);
  if (key?.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw invalidSecret(
      `${which} starts with whpk_ but is not a base64 ed25519 public key of ${ED25519_PUBLIC_KEY_BYTES} bytes.`,
    );
  }
  return key;
}

function describeType(value: unknown): string {
  return value === null ? "null" : typeof value;
}

function invalidSecret(message: string): WebhookVerificationError {
  return new WebhookVerificationError("invalid_secret", message);
}
