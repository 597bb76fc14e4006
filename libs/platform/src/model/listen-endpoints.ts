import type { TopologyNames } from "../amqp/topology.js";
import { PermissionDeniedError } from "../errors.js";
import { isAdmin, type Principal } from "./auth.js";
import type { EndpointDocument } from "./documents.js";

// A `herald listen` session is an endpoint with transport LISTEN: routing, filters, retries, the attempt
// log and GetEvent's reasons treat it as any endpoint, and only delivery hands its requests to a stream
// instead of POSTing them. Its tasks wait in a queue of its own, consumed by whichever delivery instance
// holds the stream (docs/decisions/herald-listen.md).

/** The scheme of a listen endpoint's URL; the URL policy refuses it in every URL a tenant gives. */
export const LISTEN_URL_SCHEME = "herald-listen:";

/** The URL Herald gives a listen endpoint: it names the endpoint, and is never dialled. */
export function listenUrl(endpointId: string): string {
  return `${LISTEN_URL_SCHEME}//${endpointId}`;
}

export function isListenEndpoint(endpoint: Pick<EndpointDocument, "listen">): boolean {
  return endpoint.listen !== undefined;
}

/**
 * Throws unless the principal may listen on the endpoint: it is a listen endpoint and the principal is
 * the API key that created it, or an admin key. Another key of the same tenant is told so.
 */
export function authorizeListener(principal: Principal, endpoint: EndpointDocument): void {
  if (!endpoint.listen) {
    throw new PermissionDeniedError(
      `endpoint "${endpoint._id}" is not a listen endpoint; create one with transport ENDPOINT_TRANSPORT_LISTEN (herald listen does)`,
    );
  }
  if (isAdmin(principal) || principal.keyId === endpoint.listen.key_id) return;
  throw new PermissionDeniedError(
    `listen endpoint "${endpoint._id}" belongs to another API key; listen with the key that created it`,
  );
}

/** The queue a listen endpoint's tasks wait in until its stream takes them. */
export function listenQueueName(names: TopologyNames, endpointId: string): string {
  return names.listenQueue(endpointId);
}

/**
 * Arguments of a listen endpoint's queue: a quorum queue (its tasks survive a broker restart, like every
 * task) with one active consumer at a time (the newest stream waits until an older one's consumer is
 * gone), deleted by RabbitMQ after `expiryMs` unused (no consumer, not declared again).
 */
export function listenQueueArguments(expiryMs: number): Record<string, unknown> {
  return {
    "x-queue-type": "quorum",
    "x-single-active-consumer": true,
    "x-expires": expiryMs,
  };
}
