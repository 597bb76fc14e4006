import type * as NodeCryptoModule from "node:crypto";
import { includesConstantTime } from "./constant-time.js";
import type { SigningKeys } from "./secrets.js";
import { concatSignedBytes, decodeEd25519Signatures, type SignedMessage } from "./signed-message.js";

/**
 * `node:crypto` when the runtime has it (Node, Bun, Deno), else undefined. Loaded through
 * `process.getBuiltinModule` rather than an import so that edge bundlers never see a `node:` import.
 */
export const nodeCrypto: typeof NodeCryptoModule | undefined =
  globalThis.process?.getBuiltinModule?.("node:crypto");

/** The synchronous signer: HMAC over the prefix and the body in parts, without joining them. */
export class NodeSigner {
  readonly #crypto: typeof NodeCryptoModule;
  readonly #hmacKeys: readonly NodeCryptoModule.KeyObject[];
  readonly #ed25519Keys: readonly NodeCryptoModule.KeyObject[];

  constructor(crypto: typeof NodeCryptoModule, keys: SigningKeys) {
    this.#crypto = crypto;
    this.#hmacKeys = keys.hmac.map((key) => crypto.createSecretKey(key));
    this.#ed25519Keys = keys.ed25519.map((key) =>
      crypto.createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(key).toString("base64url") },
        format: "jwk",
      }),
    );
  }

  /** Base64 HMAC-SHA256 of prefix + body, one per secret. */
  hmacSignatures(prefix: string, body: string | Uint8Array): string[] {
    return this.#hmacKeys.map((key) => this.#hmac(key, prefix, body));
  }

  matches(message: SignedMessage): boolean {
    const { signedPrefix, body, v1 } = message;
    if (v1.length > 0) {
      for (const key of this.#hmacKeys) {
        if (includesConstantTime(v1, this.#hmac(key, signedPrefix, body))) return true;
      }
    }
    if (message.v1a.length > 0 && this.#ed25519Keys.length > 0) {
      const data = concatSignedBytes(signedPrefix, body);
      for (const signature of decodeEd25519Signatures(message.v1a)) {
        for (const key of this.#ed25519Keys) {
          if (this.#crypto.verify(null, data, key, signature)) return true;
        }
      }
    }
    return false;
  }

  #hmac(key: NodeCryptoModule.KeyObject, prefix: string, body: string | Uint8Array): string {
    return this.#crypto.createHmac("sha256", key).update(prefix).update(body).digest("base64");
  }
}
