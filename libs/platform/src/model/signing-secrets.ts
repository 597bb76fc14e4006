import type { EndpointDocument } from "./documents.js";
import type { SecretBox } from "./secret-box.js";

/**
 * The endpoint's secrets to sign with now, decrypted, newest first: the current one plus any
 * rotated-out one still inside its overlap window.
 */
export function signingSecrets(endpoint: EndpointDocument, box: SecretBox, now: Date): string[] {
  return endpoint.secrets
    .filter((secret) => !secret.expire_time || secret.expire_time.getTime() > now.getTime())
    .sort((a, b) => b.create_time.getTime() - a.create_time.getTime())
    .map((secret) => box.open(secret.sealed));
}
