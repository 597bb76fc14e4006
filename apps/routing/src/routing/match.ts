import { SkipReason } from "@herald/contracts";
import {
  type EndpointDocument,
  isOperationalEventType,
  OPERATIONAL_TYPE_PREFIX,
} from "@herald/platform/model";
import { type CompiledFilter, compileFilter, FilterBindings, type FilterEvent } from "./filter.js";

/**
 * Whether an endpoint's event-type filters take the event type: no filters or "*" take everything,
 * "order.*" takes every type under "order." at any depth, anything else must be equal. Herald's
 * operational events (`herald.*`) are the exception: only filters naming that namespace take them, so
 * an endpoint subscribed to everything keeps receiving only its tenant's own events.
 */
export function matchesEventType(filters: readonly string[], eventType: string): boolean {
  if (isOperationalEventType(eventType))
    return filters.some(
      (filter) => filter.startsWith(OPERATIONAL_TYPE_PREFIX) && filterTakes(filter, eventType),
    );
  if (filters.length === 0) return true;
  return filters.some((filter) => filterTakes(filter, eventType));
}

function filterTakes(filter: string, eventType: string): boolean {
  if (filter === "*") return true;
  if (filter.endsWith(".*")) return eventType.startsWith(filter.slice(0, -1));
  return filter === eventType;
}

/** An endpoint with channels takes only events published on at least one of them. */
export function matchesChannels(
  endpointChannels: readonly string[],
  eventChannels: readonly string[],
): boolean {
  if (endpointChannels.length === 0) return true;
  return eventChannels.some((channel) => endpointChannels.includes(channel));
}

/** Endpoints listed in a routing record's reasons at most; the rest are only counted. */
export const MAX_SKIPPED_LISTED = 100;

/** Why one endpoint did not get an event (see herald.v1.SkippedEndpoint). */
export interface Skipped {
  endpointId: string;
  reason: SkipReason;
  filter: string;
  detail: string;
}

/** Where an event goes: the endpoints that take it, and why the others do not (bounded). */
export interface RouteDecision {
  endpoints: EndpointDocument[];
  skipped: Skipped[];
  /** Skipped endpoints beyond MAX_SKIPPED_LISTED. */
  skippedOmitted: number;
}

// Compiled per endpoint document: the control-plane cache hands out the same document until the
// endpoint changes (or its entry expires), so the program is looked up once per document. Programs
// are also kept by their text (they hold no per-endpoint state), so the fresh documents the cache
// reads every 30 s, and endpoints sharing a filter, reuse them rather than compiling again.
const compiled = new WeakMap<EndpointDocument, CompiledFilter | Error>();

/** Programs kept by text; past this the oldest kept goes (it is compiled again if still in use). */
const MAX_PROGRAMS_BY_TEXT = 10_000;
const programsByText = new Map<string, CompiledFilter | Error>();

function filterOf(endpoint: EndpointDocument & { filter: string }): CompiledFilter | Error {
  let filter = compiled.get(endpoint);
  if (!filter) {
    filter = programsByText.get(endpoint.filter);
    if (!filter) {
      try {
        filter = compileFilter(endpoint.filter);
      } catch (err) {
        // Filters are checked when stored; one stored before a limit was tightened fails as no match.
        filter = err instanceof Error ? err : new Error(String(err));
      }
      if (programsByText.size >= MAX_PROGRAMS_BY_TEXT) {
        programsByText.delete(programsByText.keys().next().value as string);
      }
      programsByText.set(endpoint.filter, filter);
    }
    compiled.set(endpoint, filter);
  }
  return filter;
}

/**
 * Decides for every endpoint of the tenant: event type, then channels, then the filter (evaluated only
 * for endpoints that passed the first two; its errors count as no match). Disabled endpoints that
 * match still take the event (see {@link selectEndpoints}) and are also listed, as ENDPOINT_DISABLED.
 */
export function decideRoutes(
  endpoints: readonly EndpointDocument[],
  event: FilterEvent,
  options: { tenantDisabled?: boolean } = {},
): RouteDecision {
  const decision: RouteDecision = { endpoints: [], skipped: [], skippedOmitted: 0 };
  const skip = (endpoint: EndpointDocument, reason: SkipReason, filter = "", detail = "") => {
    if (decision.skipped.length < MAX_SKIPPED_LISTED) {
      decision.skipped.push({ endpointId: endpoint._id, reason, filter, detail });
    } else {
      decision.skippedOmitted++;
    }
  };
  let bindings: FilterBindings | undefined;
  for (const endpoint of endpoints) {
    if (options.tenantDisabled) {
      skip(endpoint, SkipReason.TENANT_DISABLED);
      continue;
    }
    if (!matchesEventType(endpoint.event_types, event.type)) {
      skip(endpoint, SkipReason.EVENT_TYPE);
      continue;
    }
    if (!matchesChannels(endpoint.channels, event.channels)) {
      skip(endpoint, SkipReason.CHANNEL);
      continue;
    }
    if (endpoint.filter) {
      const filter = filterOf(endpoint as EndpointDocument & { filter: string });
      if (filter instanceof Error) {
        skip(endpoint, SkipReason.FILTER_ERROR, endpoint.filter, filter.message);
        continue;
      }
      bindings ??= new FilterBindings(event);
      const outcome = filter.evaluate(bindings);
      if (!outcome.match) {
        const reason = outcome.error ? SkipReason.FILTER_ERROR : SkipReason.FILTER_FALSE;
        skip(endpoint, reason, endpoint.filter, outcome.error ?? "");
        continue;
      }
    }
    decision.endpoints.push(endpoint);
    if (endpoint.disabled) skip(endpoint, SkipReason.ENDPOINT_DISABLED);
  }
  return decision;
}

/**
 * The endpoints that take an event, in the order given. Disabled endpoints are included: delivery
 * records their deliveries as dead without sending, so what they missed can be recovered once they are
 * enabled again.
 */
export function selectEndpoints(
  endpoints: readonly EndpointDocument[],
  event: FilterEvent,
): EndpointDocument[] {
  return decideRoutes(endpoints, event).endpoints;
}
