import type { webcrypto } from "node:crypto";
import { encodeBase64 } from "./base64.js";
import { includesConstantTime } from "./constant-time.js";
import { WebhookVerificationError } from "./errors.js";
import type { SigningKeys } from "./secrets.js";
import { concatSignedBytes, decodeEd25519Signatures, type SignedMessage } from "./signed-message.js";

// Types only: at run time this module uses globalThis.crypto, never node:crypto.
interface WebKeys {
  readonly hmac: readonly webcrypto.CryptoKey[];
  readonly ed25519: readonly webcrypto.CryptoKey[];
}

/** The asynchronous signer on Web Crypto (`crypto.subtle`), for edge runtimes and browsers. */
export class WebSigner {
  readonly #keys: SigningKeys;
  #imported: Promise<WebKeys> | undefined;

  constructor(keys: SigningKeys) {
    this.#keys = keys;
  }

  /** Base64 HMAC-SHA256 of prefix + body, one per secret. */
  async hmacSignatures(prefix: string, body: string | Uint8Array): Promise<string[]> {
    const { hmac } = await this.#importKeys();
    return signAll(hmac, concatSignedBytes(prefix, body));
  }

  async matches(message: SignedMessage): Promise<boolean> {
    const keys = await this.#importKeys();
    const data = concatSignedBytes(message.signedPrefix, message.body);
    const { v1 } = message;
    if (
      v1.length > 0 &&
      (await signAll(keys.hmac, data)).some((digest) => includesConstantTime(v1, digest))
    ) {
      return true;
    }
    for (const signature of decodeEd25519Signatures(message.v1a)) {
      for (const key of keys.ed25519) {
        if (await subtle().verify("Ed25519", key, signature, data)) return true;
      }
    }
    return false;
  }

  /** Imported on first use and kept: importKey is async, so it cannot run in the constructor. */
  #importKeys(): Promise<WebKeys> {
    this.#imported ??= importKeys(this.#keys);
    return this.#imported;
  }
}

async function importKeys(keys: SigningKeys): Promise<WebKeys> {
  const hmacAlgorithm = { name: "HMAC", hash: "SHA-256" };
  const [hmac, ed25519] = await Promise.all([
    Promise.all(keys.hmac.map((key) => subtle().importKey("raw", key, hmacAlgorithm, false, ["sign"]))),
    Promise.all(keys.ed25519.map((key) => subtle().importKey("raw", key, "Ed25519", false, ["verify"]))),
  ]);
  return { hmac, ed25519 };
}

function signAll(keys: readonly webcrypto.CryptoKey[], data: Uint8Array<ArrayBuffer>): Promise<string[]> {
  return Promise.all(
    keys.map(async (key) => encodeBase64(new Uint8Array(await subtle().sign("HMAC", key, data)))),
  );
}

function subtle(): webcrypto.SubtleCrypto {
  const api = globalThis.crypto?.subtle;
  if (api === undefined) {
    throw new WebhookVerificationError(
      "unsupported_runtime",
      "This runtime has no Web Crypto (globalThis.crypto.subtle); use verify() on Node.",
    );
  }
  return api;
}
