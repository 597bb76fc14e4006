import { type Db, type IndexDescription, MongoClient, MongoServerError } from "mongodb";

export interface MongoHandle {
  client: MongoClient;
  db: Db;
  /** What the server can do, found once at connect. */
  capabilities: StorageCapabilities;
}

/**
 * What the connected server can do, where Herald writes differently without it. MongoDB can do all of
 * it; docs/storage.md lists the servers that cannot and what Herald does there. One setting, detected at
 * connect (or set by MONGO_CONCURRENT_WRITES), so the services' code has one path and names no server.
 */
export interface StorageCapabilities {
  /**
   * Writes to one database proceed in parallel. False where the server writes one transaction at a time,
   * so that concurrent batches would only queue behind each other.
   */
  concurrentWrites: boolean;
}

/** MongoDB's capabilities: what Herald assumes unless the server says otherwise. */
export const MONGODB_CAPABILITIES: StorageCapabilities = { concurrentWrites: true };

/**
 * The capabilities of the server whose `buildInfo` answer this is. The embedded wire server
 * (docs/storage.md) reports `ferretdbVersion`, and writes one transaction at a time.
 */
export function storageCapabilitiesOf(buildInfo: Record<string, unknown>): StorageCapabilities {
  return "ferretdbVersion" in buildInfo ? { concurrentWrites: false } : MONGODB_CAPABILITIES;
}

/** Indexes to create at start, by collection. */
export type IndexPlan = Record<string, IndexDescription[]>;

/** Write and read concern of every operation (MONGO_WRITE_CONCERN, MONGO_READ_CONCERN), and the capability setting. */
export interface MongoSettings {
  w: "majority" | number;
  readConcern: "local" | "majority" | "available";
  /** MONGO_CONCURRENT_WRITES: `auto` (the default) asks the server with `buildInfo`. */
  concurrentWrites?: "auto" | "true" | "false";
}

/**
 * Connects with the official driver. The driver reconnects by itself afterwards; only the first
 * connection must succeed within `timeoutMs` or the service fails to start. Every write waits for
 * `settings.w`: with `majority` on a replica set, an acknowledged event survives the loss of the primary
 * (a `w: 1` write can be rolled back by a failover after Herald acknowledged it).
 */
export async function connectMongo(
  url: string,
  dbName: string,
  appName: string,
  timeoutMs = 30_000,
  settings: MongoSettings = { w: "majority", readConcern: "local" },
): Promise<MongoHandle> {
  const client = new MongoClient(url, {
    appName,
    serverSelectionTimeoutMS: timeoutMs,
    maxPoolSize: 20,
    writeConcern: { w: settings.w },
    readConcern: { level: settings.readConcern },
  });
  await client.connect();
  const setting = settings.concurrentWrites ?? "auto";
  const capabilities =
    setting === "auto"
      ? storageCapabilitiesOf(await client.db("admin").command({ buildInfo: 1 }))
      : { ...MONGODB_CAPABILITIES, concurrentWrites: setting === "true" };
  return { client, db: client.db(dbName), capabilities };
}

/** Creates the plan's indexes; existing identical ones are left as they are. */
export async function ensureIndexes(db: Db, plan: IndexPlan): Promise<void> {
  for (const [collection, indexes] of Object.entries(plan)) {
    // One index per command: a createIndexes of several indexes that all exist already drops the
    // connection on some servers, and a restarted service would not start (see docs/storage.md).
    for (const index of indexes) await db.collection(collection).createIndexes([index]);
  }
}

export async function pingMongo(db: Db): Promise<boolean> {
  await db.command({ ping: 1 }, { timeoutMS: 2_000 });
  return true;
}

/** True for a unique-index violation (E11000). */
export function isDuplicateKeyError(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}
