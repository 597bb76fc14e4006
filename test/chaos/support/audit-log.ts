import { AttemptTrigger, DeliveryState } from "@herald/contracts";
import type { Db, Document } from "mongodb";

/**
 * The deliveries the audit log holds as SUCCEEDED, as `<event id>/<endpoint id>`: those whose document
 * says so, and those without a document that have an accepted attempt (audit writes no document for a
 * delivery whose first attempt was accepted: the attempt is its status).
 */
export async function succeededDeliveries(db: Db): Promise<Set<string>> {
  const key = (d: Document) => `${d.event_id}/${d.endpoint_id}`;
  const documents = await db
    .collection("deliveries")
    .find({}, { projection: { event_id: 1, endpoint_id: 1, state: 1 } })
    .toArray();
  const documented = new Set(documents.map(key));
  const succeeded = new Set(documents.filter((d) => d.state === DeliveryState.SUCCEEDED).map(key));
  const accepted = await db
    .collection("attempts")
    .find({ success: true }, { projection: { event_id: 1, endpoint_id: 1, trigger: 1 } })
    .toArray();
  for (const attempt of accepted) {
    if (attempt.trigger !== AttemptTrigger.TEST && !documented.has(key(attempt))) succeeded.add(key(attempt));
  }
  return succeeded;
}
