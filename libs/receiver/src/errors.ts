/**
 * Why a webhook was rejected or a verifier could not be built. Stable: match on it, not on the message.
 *
 * - `missing_header`: `webhook-id`, `webhook-timestamp` or `webhook-signature` is absent or empty.
 * - `invalid_timestamp`: `webhook-timestamp` is not a whole number of seconds written in digits.
 * - `timestamp_too_old` / `timestamp_too_new`: the timestamp is outside the tolerance (replay protection).
 * - `no_matching_signature`: no signature in `webhook-signature` matches the payload and the configured keys.
 * - `invalid_secret`: a secret or public key given to the constructor is empty, too short or not base64.
 * - `invalid_payload`: the payload is not a string or bytes, or it is not JSON while JSON parsing is on.
 * - `unsupported_runtime`: the runtime lacks the crypto API the called method needs.
 */
export type WebhookErrorCode =
  | "missing_header"
  | "invalid_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "no_matching_signature"
  | "invalid_secret"
  | "invalid_payload"
  | "unsupported_runtime";

/**
 * The one error class this package throws for a rejected webhook or a bad configuration.
 * Same name as the `standardwebhooks` package's error, so `catch` blocks written for it keep working;
 * `code` says what went wrong and the message says what to fix. Messages never contain a secret.
 */
export class WebhookVerificationError extends Error {
  /** Stable reason, for programs; see {@link WebhookErrorCode}. */
  readonly code: WebhookErrorCode;

  constructor(code: WebhookErrorCode, message: string) {
    super(message);
    this.name = "WebhookVerificationError";
    this.code = code;
  }
}
