import { generateKeyPairSync, randomBytes } from "node:crypto";
import { FailedPreconditionError, InvalidArgumentError } from "@herald/platform";
import { type EndpointSecretDocument, type SecretBox, SecretBoxError } from "@herald/platform/model";

// Endpoint signing secrets in the Standard Webhooks format: "whsec_" + base64 of the HMAC key (v1), or an
// ed25519 key pair (v1a): "whsk_" + base64 of the private key, "whpk_" + base64 of the public key. Secrets
// and private keys are stored only sealed by SecretBox; error messages here never include them, not even
// in part.

export const SECRET_PREFIX = "whsec_";
export const PRIVATE_KEY_PREFIX = "whsk_";
export const PUBLIC_KEY_PREFIX = "whpk_";
export const GENERATED_SECRET_BYTES = 32;
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
export const DEFAULT_ROTATION_OVERLAP_MS = 24 * 3_600_000;
export const MAX_ROTATION_OVERLAP_MS = 7 * 24 * 3_600_000;
/** Every valid secret adds a signature to each delivery, so rotations cannot pile them up forever. */
export const MAX_VALID_SECRETS = 5;

/** How an endpoint signs: v1 (HMAC-SHA256) or v1a (ed25519). */
export type SignatureSchemeName = "v1" | "v1a";

/** A new secret: "whsec_" + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_SECRET_BYTES).toString("base64");
}

/**
 * Checks a caller-supplied secret and returns it with the "whsec_" prefix (optional on input). The key
 * must be canonical standard base64 of 24-64 bytes.
 */
export function parseSigningSecret(field: string, text: string): string {
  if (text.startsWith(PRIVATE_KEY_PREFIX) || text.startsWith(PUBLIC_KEY_PREFIX)) {
    throw new InvalidArgumentError(
      field,
      "v1a keys cannot be supplied: Herald generates the ed25519 key pair; set signature_scheme to SIGNATURE_SCHEME_V1A and leave secret empty",
    );
  }
  const encoded = text.startsWith(SECRET_PREFIX) ? text.slice(SECRET_PREFIX.length) : text;
  // Canonical form only (padding included): any other text would decode to a different key than the
  // receiver's library derives from the same string.
  const bytes = Buffer.from(encoded, "base64");
  if (encoded === "" || bytes.toString("base64") !== encoded) {
    throw new InvalidArgumentError(
      field,
      'must be "whsec_" followed by standard base64 (A-Z a-z 0-9 + /, "=" padding); leave it empty to have one generated',
    );
  }
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) {
    throw new InvalidArgumentError(
      field,
      `must decode to ${MIN_SECRET_BYTES}-${MAX_SECRET_BYTES} bytes, got ${bytes.length}`,
    );
  }
  return SECRET_PREFIX + encoded;
}

/** A stored secret, sealed, current (no expiry). */
export function sealSecret(secret: string, box: SecretBox, now: Date): EndpointSecretDocument {
  return { id: `sec_${randomBytes(8).toString("hex")}`, sealed: box.seal(secret), create_time: now };
}

/**
 * A new ed25519 key pair in the Standard Webhooks format. The private key is the 32-byte seed followed by
 * the 32-byte public key, as Go's crypto/ed25519 and libsodium write it.
 */
export function generateKeyPair(): { privateKey: string; publicKey: string } {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d ?? "", "base64url");
  const publicKey = Buffer.from(jwk.x ?? "", "base64url");
  return {
    privateKey: PRIVATE_KEY_PREFIX + Buffer.concat([seed, publicKey]).toString("base64"),
    publicKey: PUBLIC_KEY_PREFIX + publicKey.toString("base64"),
  };
}

/**
 * A new current secret of the scheme, sealed: v1 uses the supplied secret (checked by
 * `parseSigningSecret`) or a generated one; v1a always a generated key pair, its public key kept in clear.
 */
export function newSealedSecret(
  scheme: SignatureSchemeName,
  supplied: string | undefined,
  box: SecretBox,
  now: Date,
): EndpointSecretDocument {
  if (scheme === "v1") return sealSecret(supplied ?? generateSigningSecret(), box, now);
  const { privateKey, publicKey } = generateKeyPair();
  return { ...sealSecret(privateKey, box, now), scheme: "v1a", public_key: publicKey };
}

/** The scheme an endpoint signs with now: that of its newest valid secret. */
export function currentScheme(secrets: readonly EndpointSecretDocument[], now: Date): SignatureSchemeName {
  return validSecretDocuments(secrets, now)[0]?.scheme ?? "v1";
}

/**
 * The secret sealed under the ring's current key. One under an older key is re-sealed, so a rotation
 * racing the background re-seal cannot write an old-key value back; one under a key the ring lacks is
 * kept as it is (a rotation with a 0s overlap is how an operator drops it).
 */
export function sealedUnderCurrentKey(
  secret: EndpointSecretDocument,
  box: SecretBox,
): EndpointSecretDocument {
  if (!box.isStale(secret.sealed)) return secret;
  try {
    return { ...secret, sealed: box.seal(box.open(secret.sealed)) };
  } catch (err) {
    if (err instanceof SecretBoxError) return secret;
    throw err;
  }
}

function isValidAt(secret: EndpointSecretDocument, now: Date): boolean {
  return secret.expire_time === undefined || secret.expire_time.getTime() > now.getTime();
}

/** Secrets still valid at `now`, newest first. */
export function validSecretDocuments(
  secrets: readonly EndpointSecretDocument[],
  now: Date,
): EndpointSecretDocument[] {
  return secrets
    .filter((secret) => isValidAt(secret, now))
    .sort((a, b) => b.create_time.getTime() - a.create_time.getTime());
}

/**
 * The secrets after a rotation to `next`: every previously valid secret stays valid at most `overlapMs`
 * longer (0 ends them now), expired ones are dropped. Newest first.
 */
export function rotateSecretDocuments(
  secrets: readonly EndpointSecretDocument[],
  next: EndpointSecretDocument,
  overlapMs: number,
  now: Date,
): EndpointSecretDocument[] {
  const overlapEnd = new Date(now.getTime() + overlapMs);
  const previous = validSecretDocuments(secrets, now).map((secret) => ({
    ...secret,
    expire_time:
      secret.expire_time && secret.expire_time.getTime() < overlapEnd.getTime()
        ? secret.expire_time
        : overlapEnd,
  }));
  const rotated = [next, ...validSecretDocuments(previous, now)];
  if (rotated.length > MAX_VALID_SECRETS) {
    throw new FailedPreconditionError(
      `the endpoint would have ${rotated.length} valid secrets, at most ${MAX_VALID_SECRETS}: wait until older ones expire, or rotate with a shorter overlap (0s ends them now)`,
    );
  }
  return rotated;
}
