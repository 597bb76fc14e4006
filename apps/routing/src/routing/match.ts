import type { EndpointDocument } from "@herald/platform/model";

/**
 * Whether an endpoint's event-type filters take the event type: no filters or "*" take everything,
 * "order.*" takes every type under "order." at any depth, anything else must be equal.
 */
export function matchesEventType(filters: readonly string[], eventType: string): boolean {
  if (filters.length === 0) return true;
  return filters.some((filter) => {
    if (filter === "*") return true;
    if (filter.endsWith(".*")) return eventType.startsWith(filter.slice(0, -1));
    return filter === eventType;
  });
}

/** An endpoint with channels takes only events published on at least one of them. */
export function matchesChannels(
  endpointChannels: readonly string[],
  eventChannels: readonly string[],
): boolean {
  if (endpointChannels.length === 0) return true;
  return eventChannels.some((channel) => endpointChannels.includes(channel));
}

/**
 * The endpoints that take an event, in the order given. Disabled endpoints are included: delivery
 * records their deliveries as dead without sending, so what they missed can be recovered once they are
 * enabled again.
 */
export function selectEndpoints(
  endpoints: readonly EndpointDocument[],
  event: { eventType: string; channels: readonly string[] },
): EndpointDocument[] {
  return endpoints.filter(
    (endpoint) =>
      matchesEventType(endpoint.event_types, event.eventType) &&
      matchesChannels(endpoint.channels, event.channels),
  );
}
