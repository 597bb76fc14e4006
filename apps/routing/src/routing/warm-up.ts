import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AuditRecordBatchSchema,
  DeliveryTaskBatchSchema,
  EventBatchSchema,
  EventSchema,
} from "@herald/contracts";
import type { Logger } from "@herald/platform";
import {
  type ControlPlaneCache,
  defaultEndpointDocument,
  defaultTenantDocument,
  type EndpointDocument,
  WARM_UP_PAYLOAD_JSON,
  WARM_UP_TENANT_ID,
} from "@herald/platform/model";
import { type RouteDeps, routeEvent } from "./route-event.js";

/** Rounds of {@link warmUpRoutingPath}: enough for V8 to optimise what one event runs through. */
export const ROUTING_WARM_UP_ROUNDS = 2_000;

const EPOCH = new Date(0);
const tenant = defaultTenantDocument(WARM_UP_TENANT_ID, EPOCH);

function endpoint(id: string, fields: Partial<EndpointDocument>): EndpointDocument {
  return defaultEndpointDocument(
    { _id: id, tenant_id: WARM_UP_TENANT_ID, url: "https://warm-up.invalid/hook" },
    EPOCH,
    fields,
  );
}

// One endpoint of each kind an event meets: taking everything, taking it through its type, channel and
// filter, and skipped by its type, its channel and its filter.
const endpoints = [
  endpoint("ep_all", {}),
  endpoint("ep_filtered", {
    event_types: ["warm.*"],
    channels: ["a"],
    filter: "payload.total > 10.0 && payload.lines.exists(l, l.sku == 'A-1')",
  }),
  endpoint("ep_other_type", { event_types: ["order.created"] }),
  endpoint("ep_other_channel", { channels: ["b"] }),
  endpoint("ep_filter_false", { filter: "payload.total < 1.0" }),
];

/** Endpoints of the made-up tenant that take the made-up event. */
export const WARM_UP_ROUTED_ENDPOINTS = 2;

/**
 * Runs routing's per-event code on made-up events, touching nothing outside the process: the event
 * message decoded as the consumer does, the tenant's endpoints matched (types, channels, filters), and
 * its delivery tasks and routing record built and encoded as the broker would carry them. The endpoint
 * cache and the publishers are stand-ins. Returns the tasks encoded.
 */
export async function warmUpRoutingPath(logger: Logger, rounds = ROUTING_WARM_UP_ROUNDS): Promise<number> {
  const payload = Buffer.from(WARM_UP_PAYLOAD_JSON);
  const message = toBinary(
    EventBatchSchema,
    create(EventBatchSchema, {
      events: [
        create(EventSchema, {
          id: "evt_warmup000000000000",
          tenantId: WARM_UP_TENANT_ID,
          eventType: "warm.up",
          payload,
          channels: ["a"],
          createTime: timestampFromDate(new Date()),
          traceContext: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
        }),
      ],
    }),
  );
  let tasks = 0;
  const deps: RouteDeps = {
    cache: {
      tenant: async () => tenant,
      endpointsOf: async () => endpoints,
    } as Pick<ControlPlaneCache, "tenant" | "endpointsOf"> as ControlPlaneCache,
    publishTask: async (task) => {
      toBinary(DeliveryTaskBatchSchema, create(DeliveryTaskBatchSchema, { tasks: [task] }));
      tasks++;
    },
    publishAudit: async (record) => {
      toBinary(AuditRecordBatchSchema, create(AuditRecordBatchSchema, { records: [record] }));
    },
    logger,
    now: () => new Date(),
    metrics: { recordRouted: () => {}, countDropped: () => {} },
  };
  for (let i = 0; i < rounds; i++) {
    for (const event of fromBinary(EventBatchSchema, message).events) await routeEvent(deps, event);
  }
  return tasks;
}
