import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import {
  type IngestService,
  PublishEventResponseSchema,
  PublishEventResultSchema,
  PublishEventsResponseSchema,
  Scope,
} from "@herald/contracts";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  toConnectError,
} from "@herald/platform";
import {
  authorizeTenant,
  type ControlPlaneCache,
  isLiveTenant,
  principalOf,
  type TenantDocument,
} from "@herald/platform/model";
import { trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import { recordBatchItem } from "./batch-span.js";
import { type CatalogDeps, checkAgainstCatalog } from "./catalog.js";
import { type PublishDeps, publishEvent } from "./publish-event.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { TenantGate } from "./tenant-gate.js";
import { validateEvent } from "./validate.js";

export const MAX_BATCH = 100;

export interface IngestLimits {
  defaultMaxPayloadBytes: number;
  defaultRateLimitPerSecond: number;
}

export interface IngestRpcDeps extends PublishDeps, CatalogDeps {
  /** Counts each event by tenant and outcome: accepted, duplicate or refused. */
  countEvent(tenantId: string, outcome: "accepted" | "duplicate" | "refused"): void;
  cache: ControlPlaneCache;
  rateLimiter: RateLimiter;
  /** Told of each refusal for the tenant's rate limit (to emit `herald.tenant.rate_limited`); must not throw. */
  onRateLimited?(tenantId: string, limitPerSecond: number): void;
  limits: IngestLimits;
  /** Bounds each tenant's events in flight: a call past it waits behind its tenant's own. */
  tenantGate?: TenantGate;
  logger: Logger;
}

/** IngestService: checks key, tenant, rate and input, then publishes through {@link publishEvent}. */
export function ingestRpc(deps: IngestRpcDeps): ServiceImpl<typeof IngestService> {
  async function admit(ctx: HandlerContext, tenantId: string, count: number): Promise<TenantDocument> {
    if (!tenantId) throw new InvalidArgumentError("tenant_id", "required");
    authorizeTenant(principalOf(ctx), tenantId, Scope.EVENTS_PUBLISH);
    const tenant = await deps.cache.tenant(tenantId);
    if (!isLiveTenant(tenant)) {
      // A deleted tenant's id may come back as a new tenant, which starts with a full budget.
      deps.rateLimiter.forget(tenantId);
      throw new NotFoundError("tenant", tenantId);
    }
    if (tenant.disabled)
      throw new FailedPreconditionError(`tenant "${tenantId}" is disabled; enable it to publish`);
    const rate = tenant.settings.rate_limit_per_second || deps.limits.defaultRateLimitPerSecond;
    // A batch larger than a second's budget could never be admitted: a retry hint would be a lie.
    if (count > rate) {
      throw new InvalidArgumentError(
        "events",
        `${count} events in one call is over tenant "${tenantId}"'s limit of ${rate} events/s; send at most ${rate} per call`,
      );
    }
    const waitMs = await deps.rateLimiter.take(tenantId, rate, count);
    if (waitMs > 0) {
      deps.onRateLimited?.(tenantId, rate);
      throw new ResourceExhaustedError(`tenant "${tenantId}" is over its limit of ${rate} events/s`, waitMs);
    }
    trace.getActiveSpan()?.setAttribute("herald.tenant_id", tenantId);
    return tenant;
  }

  /** Runs `work` once the tenant's `count` events fit under its bound of events in flight. */
  async function inTenantLine<T>(
    ctx: HandlerContext,
    tenantId: string,
    count: number,
    work: () => Promise<T>,
  ) {
    if (!deps.tenantGate) return work();
    const release = await deps.tenantGate.acquire(tenantId, count, ctx.signal);
    try {
      return await work();
    } finally {
      release();
    }
  }

  function limitsOf(tenant: TenantDocument) {
    return { maxPayloadBytes: tenant.settings.max_payload_bytes || deps.limits.defaultMaxPayloadBytes };
  }

  return {
    async publishEvent(req, ctx) {
      const tenant = await admit(ctx, req.tenantId, 1);
      try {
        const event = validateEvent(req.event, limitsOf(tenant), "event");
        await checkAgainstCatalog(deps, tenant, event, "event");
        const result = await inTenantLine(ctx, req.tenantId, 1, () =>
          publishEvent(deps, req.tenantId, event),
        );
        deps.countEvent(req.tenantId, result.duplicate ? "duplicate" : "accepted");
        trace.getActiveSpan()?.setAttribute("herald.event_id", result.eventId);
        return create(PublishEventResponseSchema, result);
      } catch (err) {
        deps.countEvent(req.tenantId, "refused");
        throw err;
      }
    },

    async publishEvents(req, ctx) {
      if (req.events.length === 0) throw new InvalidArgumentError("events", "at least one event is required");
      if (req.events.length > MAX_BATCH) {
        throw new InvalidArgumentError(
          "events",
          `${req.events.length} events is over the batch limit of ${MAX_BATCH}`,
        );
      }
      const tenant = await admit(ctx, req.tenantId, req.events.length);
      const span = trace.getActiveSpan();
      const results = await inTenantLine(ctx, req.tenantId, req.events.length, () =>
        Promise.all(
          req.events.map(async (input, i) => {
            try {
              const event = validateEvent(input, limitsOf(tenant), `events[${i}]`);
              await checkAgainstCatalog(deps, tenant, event, `events[${i}]`);
              const result = await publishEvent(deps, req.tenantId, event);
              deps.countEvent(req.tenantId, result.duplicate ? "duplicate" : "accepted");
              recordBatchItem(span, i, result);
              return create(PublishEventResultSchema, result);
            } catch (err) {
              deps.countEvent(req.tenantId, "refused");
              const { error, expected } = toConnectError(err);
              if (!expected) deps.logger.error({ err, index: i }, "batch item failed");
              recordBatchItem(span, i, { errorCode: codeToString(error.code) });
              return create(PublishEventResultSchema, {
                errorCode: codeToString(error.code).toUpperCase(),
                errorMessage: error.rawMessage,
              });
            }
          }),
        ),
      );
      return create(PublishEventsResponseSchema, { results });
    },
  };
}
