import type { IndexPlan } from "@herald/platform";
import { Collections, type EndpointDocument, type EndpointStore } from "@herald/platform/model";

/** The index of the idle listen endpoints' sweep (delivery creates it: it is the sweep's only reader). */
export const listenIndexes: IndexPlan = {
  [Collections.endpoints]: [{ key: { listen_seen_time: 1 }, name: "listen_seen_time" }],
};

/** Endpoints one sweep deletes at most; the next sweep takes the rest. */
const SWEEP_BATCH = 100;

/** What the sweep needs. */
export interface ListenExpiryDeps {
  endpoints: Pick<EndpointStore, "idleListenEndpoints" | "deleteIdleListen">;
  /** A listen endpoint with no stream open this long is deleted. */
  expiryMs: number;
  /** Tells every cache the endpoint is gone. */
  announce(endpoint: EndpointDocument): Promise<void>;
  now(): number;
}

/**
 * Deletes the listen endpoints no stream has been open on for the expiry: a `herald listen` that was
 * killed, or kept and never resumed. Their tasks then end as for any deleted endpoint (recorded DEAD),
 * and their queues are deleted when the announcement reaches delivery. Resolves with how many it deleted.
 */
export async function expireIdleListenEndpoints(deps: ListenExpiryDeps): Promise<number> {
  const before = new Date(deps.now() - deps.expiryMs);
  let deleted = 0;
  for (const endpoint of await deps.endpoints.idleListenEndpoints(before, SWEEP_BATCH)) {
    if (!(await deps.endpoints.deleteIdleListen(endpoint, before))) continue;
    deleted += 1;
    await deps.announce(endpoint);
  }
  return deleted;
}
