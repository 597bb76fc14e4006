import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  type AuditRecord,
  AuditRecordSchema,
  DeliveryState,
  type DeliveryTask,
  DeliveryTaskSchema,
  type Event,
} from "@herald/contracts";
import { type ControlPlaneCache, tenantOwnsEvent } from "@herald/platform/model";
import { trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import { decideRoutes } from "./match.js";

export interface RouteDeps {
  cache: ControlPlaneCache;
  /** Publishes to herald.deliveries; resolves on confirm. */
  publishTask(task: DeliveryTask): Promise<void>;
  /** Publishes to herald.attempts; resolves on confirm. */
  publishAudit(record: AuditRecord): Promise<void>;
  logger: Logger;
  now(): Date;
  metrics: RouteMetrics;
}

/** What routing an event tells the metrics. */
export interface RouteMetrics {
  /** An event fanned out to this many endpoints (0: unmatched). */
  recordRouted(endpointCount: number): void;
  /** An event of an unknown, deleted or re-created tenant, dropped unrecorded. */
  countDropped(): void;
}

/**
 * Fans one event out to a delivery task per matching endpoint, then tells audit where it went (also
 * when nowhere, so an unmatched event is visible). Resolves only when every task is confirmed, so the
 * event is acked only then; a redelivered event is routed again, which at-least-once allows.
 */
export async function routeEvent(deps: RouteDeps, event: Event): Promise<string[]> {
  const span = trace.getActiveSpan();
  span?.setAttributes({ "herald.tenant_id": event.tenantId, "herald.event_id": event.id });
  const tenant = await deps.cache.tenant(event.tenantId);
  const eventTime = event.createTime ? timestampDate(event.createTime) : deps.now();
  if (!tenantOwnsEvent(tenant, eventTime)) {
    // Unknown, being deleted, or re-created since: nothing is recorded, as the tenant's data is (being)
    // purged and a re-created tenant must not see the old one's events.
    deps.logger.warn({ eventId: event.id, tenantId: event.tenantId }, "event of an unknown tenant dropped");
    deps.metrics.countDropped();
    return [];
  }
  const decision = decideRoutes(
    await deps.cache.endpointsOf(event.tenantId),
    { type: event.eventType, channels: event.channels, tenantId: event.tenantId, payload: event.payload },
    { tenantDisabled: tenant.disabled },
  );
  const endpoints = decision.endpoints;
  const now = timestampFromDate(deps.now());

  await Promise.all(
    endpoints.map((endpoint) =>
      deps.publishTask(
        create(DeliveryTaskSchema, {
          eventId: event.id,
          tenantId: event.tenantId,
          endpointId: endpoint._id,
          eventType: event.eventType,
          payload: event.payload,
          attempt: 1,
          eventTime: event.createTime,
          dueTime: now,
          trigger: AttemptTrigger.SCHEDULED,
        }),
      ),
    ),
  );
  const endpointIds = endpoints.map((endpoint) => endpoint._id);
  await deps.publishAudit(
    create(AuditRecordSchema, {
      record: {
        case: "routing",
        value: {
          eventId: event.id,
          tenantId: event.tenantId,
          eventType: event.eventType,
          endpointIds,
          routeTime: now,
          skipped: decision.skipped,
          skippedOmitted: decision.skippedOmitted,
        },
      },
      state: DeliveryState.PENDING,
    }),
  );
  span?.setAttribute("herald.endpoint_count", endpointIds.length);
  deps.metrics.recordRouted(endpointIds.length);
  return endpointIds;
}
