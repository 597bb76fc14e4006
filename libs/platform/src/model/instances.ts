import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Collection, Db } from "mongodb";
import type { Logger } from "pino";

/** One running instance of a Herald service, as registered in `service_instances`. */
export interface ServiceInstance {
  /** Unique per process start; acknowledgements of control notifications carry it. */
  id: string;
  service: string;
  host: string;
  pid: number;
}

/** A {@link ServiceInstance} as stored, with the time of its last heartbeat (the instance's clock). */
export interface ServiceInstanceDocument extends Omit<ServiceInstance, "id"> {
  _id: string;
  heartbeat_time: Date;
}

export function serviceInstancesCollection(db: Db): Collection<ServiceInstanceDocument> {
  return db.collection<ServiceInstanceDocument>("service_instances");
}

/** This process as an instance of `service`. */
export function thisInstance(service: string): ServiceInstance {
  return { id: `${service}_${randomUUID()}`, service, host: hostname(), pid: process.pid };
}

/** How an instance is named in logs: `audit@host:pid`. */
export function describeInstance(instance: ServiceInstance): string {
  return `${instance.service}@${instance.host}:${instance.pid}`;
}

/**
 * How often an instance renews its registration, and after how long without a renewal it no longer
 * counts as live: three missed heartbeats, so a slow MongoDB write or a busy event loop does not drop a
 * live instance, and a crashed one stops being waited for within seconds.
 */
export const HEARTBEAT_INTERVAL_MS = 2_000;
export const LIVENESS_MS = 3 * HEARTBEAT_INTERVAL_MS;
/** Registrations of instances that stopped without removing theirs (crashed) are deleted after this. */
const FORGET_AFTER_MS = 60 * 60_000;

/**
 * The service instances now running, registered with heartbeats in MongoDB. The instance announcing a
 * control change reads it to know whose acknowledgements to wait for (docs/decisions/revocation-acknowledgements.md).
 */
export class ServiceInstances {
  readonly #instances: Collection<ServiceInstanceDocument>;
  readonly #now: () => Date;

  constructor(db: Db, options: { now?: () => Date } = {}) {
    this.#instances = serviceInstancesCollection(db);
    this.#now = options.now ?? (() => new Date());
  }

  /** Registers `instance`, or renews its registration. */
  async heartbeat(instance: ServiceInstance): Promise<void> {
    const { id, ...fields } = instance;
    await this.#instances.updateOne(
      { _id: id },
      { $set: { ...fields, heartbeat_time: this.#now() } },
      { upsert: true },
    );
  }

  /**
   * Instances whose last heartbeat is at most {@link LIVENESS_MS} old. The collection holds one small
   * document per running instance (crashed ones go after an hour), so it is read whole, without an index.
   */
  async live(): Promise<ServiceInstance[]> {
    const since = new Date(this.#now().getTime() - LIVENESS_MS);
    const docs = await this.#instances.find({ heartbeat_time: { $gte: since } }).toArray();
    return docs.map(({ _id, service, host, pid }) => ({ id: _id, service, host, pid }));
  }

  /** Removes an instance that is stopping, so nobody waits for it. */
  async remove(id: string): Promise<void> {
    await this.#instances.deleteOne({ _id: id });
  }

  /** Deletes registrations left by instances that stopped without removing theirs. */
  async forgetStale(): Promise<void> {
    await this.#instances.deleteMany({
      heartbeat_time: { $lt: new Date(this.#now().getTime() - FORGET_AFTER_MS) },
    });
  }
}

/** A running registration: heartbeats until stopped. */
export interface Registration {
  /** Stops the heartbeats and removes the registration. */
  stop(): Promise<void>;
}

/**
 * Registers `instance` (resolves once the first heartbeat is saved) and renews it every
 * {@link HEARTBEAT_INTERVAL_MS}. A failed heartbeat is logged and retried at the next one.
 */
export async function keepRegistered(
  registry: ServiceInstances,
  instance: ServiceInstance,
  logger: Logger,
  intervalMs = HEARTBEAT_INTERVAL_MS,
): Promise<Registration> {
  await registry.heartbeat(instance);
  await registry
    .forgetStale()
    .catch((err) => logger.warn({ err }, "stale instance registrations not deleted"));
  let beating: Promise<void> | undefined;
  const timer = setInterval(() => {
    // One heartbeat at a time: while MongoDB is unreachable, one waits for it rather than a pile.
    if (beating) return;
    beating = registry
      .heartbeat(instance)
      .catch((err) => logger.warn({ err, instance: instance.id }, "instance heartbeat failed"))
      .finally(() => {
        beating = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await beating;
      await registry
        .remove(instance.id)
        .catch((err) => logger.warn({ err, instance: instance.id }, "instance registration not removed"));
    },
  };
}
