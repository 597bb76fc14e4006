import type { ClaimResult, DedupeStore } from "./store.js";

/** An ioredis client (`Redis` or `Cluster`): recognised by its `call` method. */
export interface IoredisClientLike {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** A node-redis v4+ client (`createClient()`): recognised by its `sendCommand` method. */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/** Either Redis client; this package imports neither. */
export type RedisClientLike = IoredisClientLike | NodeRedisClientLike;

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Put before every webhook id to make the Redis key. Default `"herald:webhook:"`. */
  keyPrefix?: string;
}

const DONE = "done";
// Deletes the lease only if this claim still owns it: a lease that lapsed may belong to another delivery.
const RELEASE_SCRIPT =
  'if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0';

/**
 * Shared dedupe for several instances. A claim is `SET key <token> NX PX lease`; success is
 * `SET key done PX ttl`; release is a compare-and-delete script. Redis expires both by itself.
 */
export class RedisStore implements DedupeStore {
  readonly #send: (args: string[]) => Promise<unknown>;
  readonly #keyPrefix: string;

  constructor(client: RedisClientLike, options: RedisStoreOptions = {}) {
    this.#send = commandSender(client);
    this.#keyPrefix = options.keyPrefix ?? "herald:webhook:";
  }

  async claim(id: string, token: string, leaseMs: number): Promise<ClaimResult> {
    const key = this.#keyPrefix + id;
    // Two tries: the record found by a failed SET NX may lapse before the GET that reads it.
    for (let attempt = 0; attempt < 2; attempt++) {
      if ((await this.#send(["SET", key, token, "NX", "PX", String(leaseMs)])) === "OK") return "claimed";
      const current = await this.#send(["GET", key]);
      if (current === DONE) return "done";
      if (current !== null) return "in_progress";
    }
    return "in_progress";
  }

  async complete(id: string, ttlMs: number): Promise<void> {
    await this.#send(["SET", this.#keyPrefix + id, DONE, "PX", String(ttlMs)]);
  }

  async release(id: string, token: string): Promise<void> {
    await this.#send(["EVAL", RELEASE_SCRIPT, "1", this.#keyPrefix + id, token]);
  }
}

function commandSender(client: RedisClientLike): (args: string[]) => Promise<unknown> {
  if (typeof (client as IoredisClientLike).call === "function") {
    const ioredis = client as IoredisClientLike;
    return ([command = "", ...args]) => ioredis.call(command, ...args);
  }
  if (typeof (client as NodeRedisClientLike).sendCommand === "function") {
    const nodeRedis = client as NodeRedisClientLike;
    return (args) => nodeRedis.sendCommand(args);
  }
  throw new TypeError(
    "RedisStore needs an ioredis client (with call) or a node-redis v4+ client (sendCommand).",
  );
}
