import { WebhookVerificationError } from "./errors.js";
import type { WebhookHeaders } from "./headers.js";
import { NodeSigner, nodeCrypto } from "./node-crypto.js";
import { parseSigningKeys, type SigningKeys, type WebhookSecret } from "./secrets.js";
import {
  readSignedMessage,
  type SignedMessage,
  type TimestampPolicy,
  toSignedBody,
  type WebhookPayload,
} from "./signed-message.js";
import { WebSigner } from "./web-crypto.js";

/** Options of {@link Webhook}; the first is the one `standardwebhooks` has. */
export interface WebhookOptions {
  /**
   * `"raw"`: string secrets are the key bytes themselves (one byte per character) instead of base64 with an
   * optional `whsec_` prefix. `Uint8Array` secrets are always raw.
   */
  format?: "raw";
  /**
   * How far `webhook-timestamp` may be from now, in seconds, in either direction, before the request is
   * rejected as replayed (`timestamp_too_old`) or from a skewed clock (`timestamp_too_new`). Default 300.
   */
  toleranceSeconds?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests inject a fixed one. */
  now?: () => number;
}

/** Options of {@link Webhook.verify}, as in `standardwebhooks`. */
export interface VerifyOptions {
  /** `false`: verify only and return undefined, for non-JSON payloads. Default true. */
  jsonParse?: boolean;
}

const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
const decoder = new TextDecoder();
// On Node, Buffer decodes UTF-8 several times faster than TextDecoder.
const NodeBuffer: typeof Buffer | undefined = globalThis.Buffer;

/**
 * Verifies and signs Standard Webhooks v1 requests. A drop-in for the `standardwebhooks` package's class
 * of the same name, plus: several secrets (rotation), `whpk_` ed25519 public keys (`v1a`), bytes payloads
 * signed exactly, any header shape, a configurable two-sided tolerance, coded errors, and `verifyAsync`
 * on Web Crypto for runtimes without `node:crypto`.
 */
export class Webhook {
  readonly #keys: SigningKeys;
  readonly #policy: TimestampPolicy;
  readonly #nodeSigner: NodeSigner | undefined;
  readonly #webSigner: WebSigner;

  /**
   * @param secret - the endpoint's signing secret, or several during rotation: any one matching signature
   *   is enough. Throws `invalid_secret` if one is empty, shorter than 16 bytes or not base64.
   */
  constructor(secret: WebhookSecret | readonly WebhookSecret[], options: WebhookOptions = {}) {
    this.#keys = parseSigningKeys(secret, options.format);
    this.#policy = {
      toleranceSeconds: checkTolerance(options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS),
      now: options.now ?? Date.now,
    };
    this.#nodeSigner = nodeCrypto && new NodeSigner(nodeCrypto, this.#keys);
    this.#webSigner = new WebSigner(this.#keys);
  }

  /**
   * Checks the headers, the timestamp and the signature over the exact payload, then returns the payload
   * parsed as JSON (undefined if empty or with `jsonParse: false`). Throws {@link WebhookVerificationError}.
   * Synchronous, on `node:crypto`; on runtimes without it use {@link Webhook.verifyAsync}.
   */
  verify(payload: WebhookPayload, headers: WebhookHeaders, options?: VerifyOptions): unknown {
    const signer = this.#node();
    const message = readSignedMessage(payload, headers, this.#policy);
    if (!signer.matches(message)) throw noMatchingSignature(message, this.#keys);
    return parseBody(message.body, options);
  }

  /** {@link Webhook.verify} on Web Crypto: works on edge runtimes, Deno, Bun, browsers and Node alike. */
  async verifyAsync(
    payload: WebhookPayload,
    headers: WebhookHeaders,
    options?: VerifyOptions,
  ): Promise<unknown> {
    const message = readSignedMessage(payload, headers, this.#policy);
    if (!(await this.#webSigner.matches(message))) throw noMatchingSignature(message, this.#keys);
    return parseBody(message.body, options);
  }

  /**
   * The `webhook-signature` value for a message: `v1,<base64>`, one entry per HMAC secret separated by
   * spaces (so a single secret gives exactly what `standardwebhooks` gives).
   */
  sign(msgId: string, timestamp: Date, payload: WebhookPayload): string {
    const { prefix, body } = this.#signingInput(msgId, timestamp, payload);
    return formatSignatures(this.#node().hmacSignatures(prefix, body));
  }

  /** {@link Webhook.sign} on Web Crypto. */
  async signAsync(msgId: string, timestamp: Date, payload: WebhookPayload): Promise<string> {
    const { prefix, body } = this.#signingInput(msgId, timestamp, payload);
    return formatSignatures(await this.#webSigner.hmacSignatures(prefix, body));
  }

  #signingInput(msgId: string, timestamp: Date, payload: WebhookPayload) {
    if (this.#keys.hmac.length === 0) {
      throw new WebhookVerificationError(
        "invalid_secret",
        "Signing needs a whsec_ secret; whpk_ keys only verify.",
      );
    }
    const seconds = Math.floor(timestamp.getTime() / 1000);
    if (!Number.isSafeInteger(seconds) || seconds < 0) {
      throw new WebhookVerificationError("invalid_timestamp", "sign() needs a valid Date after 1970.");
    }
    return { prefix: `${msgId}.${seconds}.`, body: toSignedBody(payload) };
  }

  #node(): NodeSigner {
    if (this.#nodeSigner === undefined) {
      throw new WebhookVerificationError(
        "unsupported_runtime",
        "This runtime has no node:crypto, which verify() and sign() use; call verifyAsync() or signAsync().",
      );
    }
    return this.#nodeSigner;
  }
}

function checkTolerance(seconds: number): number {
  if (!(seconds >= 0)) throw new RangeError(`toleranceSeconds must be a number ≥ 0, got ${seconds}.`);
  return seconds;
}

function formatSignatures(digests: readonly string[]): string {
  return digests.map((digest) => `v1,${digest}`).join(" ");
}

function parseBody(body: string | Uint8Array, options: VerifyOptions | undefined): unknown {
  if (options?.jsonParse === false) return undefined;
  const text = typeof body === "string" ? body : decodeUtf8(body);
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new WebhookVerificationError(
      "invalid_payload",
      "The signature is valid but the payload is not JSON; pass { jsonParse: false } for non-JSON payloads.",
    );
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  if (NodeBuffer === undefined) return decoder.decode(bytes);
  return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** Says what to fix, as far as the message tells: a missing key kind, else the secret or the body. */
function noMatchingSignature(message: SignedMessage, keys: SigningKeys): WebhookVerificationError {
  const { v1, v1a } = message;
  let hint: string;
  if (v1.length === 0 && v1a.length === 0) {
    hint = "The webhook-signature header has no v1 or v1a entry.";
  } else if (v1a.length === 0 && keys.hmac.length === 0) {
    hint = "The request is signed with an HMAC secret (v1) but only whpk_ public keys were configured.";
  } else if (v1.length === 0 && keys.ed25519.length === 0) {
    hint = "The request is signed with ed25519 (v1a) but no whpk_ public key was configured.";
  } else {
    hint =
      "Check that the secret is this endpoint's signing secret (during a rotation, pass the old and the new)" +
      (looksLikeJson(message.body)
        ? " and that you pass the raw request body: JSON that was parsed and re-serialised has other bytes."
        : ".");
  }
  return new WebhookVerificationError("no_matching_signature", `No signature matches the payload. ${hint}`);
}

function looksLikeJson(body: string | Uint8Array): boolean {
  const first = typeof body === "string" ? body.charCodeAt(0) : body[0];
  return first === 0x7b || first === 0x5b; // "{" or "["
}
