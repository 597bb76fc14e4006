import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";

/** Thrown when the key ring is malformed or a sealed value cannot be opened. Never carries a secret. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

const FORMAT = "v1";

/**
 * Encrypts endpoint secrets at rest with AES-256-GCM. The key ring comes from the environment as
 * `id:base64key,id:base64key`: the first key seals, every key opens, so keys can be rotated by putting a
 * new one first and re-sealing at leisure. Sealed values name their key: `v1:<keyId>:<iv>:<tag>:<data>`.
 */
export class SecretBox {
  readonly #keys: Map<string, KeyObject>;
  readonly #currentId: string;
  /**
   * Opened values by sealed value: delivery opens an endpoint's secrets for every request it signs, and
   * deciphering (with the KeyObject set-up it takes) is a large share of its CPU
   * (docs/decisions/throughput-defaults.md).
   */
  readonly #opened = new LRUCache<string, string>({
    max: 10_000,
    memoMethod: (sealed) => this.#decipher(sealed),
  });

  constructor(keyRing: string) {
    const keys = new Map<string, KeyObject>();
    for (const entry of keyRing
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean)) {
      const [id, encoded, extra] = entry.split(":");
      if (!id || !encoded || extra !== undefined || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
        throw new SecretBoxError('each key must be "<id>:<base64 of 32 bytes>", e.g. k1:…');
      }
      const key = Buffer.from(encoded, "base64");
      if (key.length !== 32)
        throw new SecretBoxError(`key "${id}" must decode to 32 bytes, got ${key.length}`);
      if (keys.has(id)) throw new SecretBoxError(`key id "${id}" appears twice`);
      keys.set(id, createSecretKey(key));
    }
    const first = keys.keys().next();
    if (first.done) throw new SecretBoxError("the key ring is empty");
    this.#keys = keys;
    this.#currentId = first.value;
  }

  /** Id of the key that seals new values. */
  get currentKeyId(): string {
    return this.#currentId;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#keys.get(this.#currentId) as KeyObject, iv);
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      FORMAT,
      this.#currentId,
      iv.toString("base64"),
      tag.toString("base64"),
      data.toString("base64"),
    ].join(":");
  }

  open(sealed: string): string {
    return this.#opened.memo(sealed);
  }

  #decipher(sealed: string): string {
    const [format, keyId, iv, tag, data] = sealed.split(":");
    if (format !== FORMAT || !keyId || !iv || !tag || data === undefined) {
      throw new SecretBoxError("sealed value is malformed");
    }
    const key = this.#keys.get(keyId);
    if (!key) throw new SecretBoxError(`sealed with key "${keyId}", which is not in the key ring`);
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(data, "base64")), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretBoxError(`sealed value failed authentication under key "${keyId}"`);
    }
  }

  /** How every value sealed under the current key begins: `v1:<keyId>:`. */
  get currentPrefix(): string {
    return `${FORMAT}:${this.#currentId}:`;
  }

  /** Whether a sealed value should be re-sealed under the current key. */
  isStale(sealed: string): boolean {
    return sealed.split(":")[1] !== this.#currentId;
  }
}
