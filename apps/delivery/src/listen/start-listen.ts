import { randomBytes } from "node:crypto";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import type { ControlNotification, DeliveryTask, ListenService } from "@herald/contracts";
import { NotFoundError, type ProtoPublisher, type TopologyNames } from "@herald/platform";
import {
  type ControlFeed,
  type ControlPlaneCache,
  type EndpointStore,
  isLiveTenant,
  publishControlChange,
} from "@herald/platform/model";
import type { Logger } from "pino";
import type { Connection, Consumer } from "rabbitmq-client";
import type { CircuitBreakers } from "../circuit-breaker.js";
import { type DeliverDeps, type DeliveryOutcome, deliverTask } from "../deliver-task.js";
import { deletedEndpointsOf } from "./listen-cleanup.js";
import { expireIdleListenEndpoints } from "./listen-expiry.js";
import { ListenHub } from "./listen-hub.js";
import { ListenQueues } from "./listen-queues.js";
import { listenEndpointDisabled, listenService } from "./listen-rpc.js";
import { ListenStreamClosedError, ListenStreamEndedError } from "./listen-stream.js";

/** An idle Listen stream sends a heartbeat this often, so proxies keep it open and clients see it live. */
const LISTEN_HEARTBEAT_MS = 15_000;
/** An open Listen stream marks its endpoint as seen this often (well within LISTEN_SESSION_EXPIRY's minimum). */
const LISTEN_TOUCH_MS = 20_000;
/** How often each instance deletes the listen endpoints idle past LISTEN_SESSION_EXPIRY. */
const LISTEN_SWEEP_MS = 60_000;

/** What `herald listen` needs from the delivery service. */
export interface ListenContext {
  rabbit: Connection;
  publisher: ProtoPublisher;
  names: TopologyNames;
  logger: Logger;
  control: ControlFeed;
  cache: ControlPlaneCache;
  endpoints: EndpointStore;
  breakers: CircuitBreakers;
  /** How every task is delivered; the stream stands in for `post`. */
  deliverDeps: DeliverDeps;
  recordOutcome(task: DeliveryTask, outcome: DeliveryOutcome): void;
  /** Tasks of one endpoint's stream in flight at once. */
  concurrencyOf(maxConcurrency: number): number;
  reportTimeoutMs: number;
  sessionExpiryMs: number;
}

/** `herald listen` in a delivery instance: the ListenService, the relay of tasks, and their upkeep. */
export interface ListenParts {
  service: ServiceImpl<typeof ListenService>;
  /** Puts a listen endpoint's task in its queue; resolves once confirmed. */
  relay(task: DeliveryTask): Promise<void>;
  consumers: Consumer[];
  /** Ends every stream (shutdown): their clients reconnect elsewhere. */
  drain(): void;
  stop(): void;
}

/**
 * Starts `herald listen` in this instance: a listen endpoint's tasks go to its own queue, which the
 * instance holding its stream consumes; there they are delivered as any task, the stream standing in for
 * the POST (docs/decisions/herald-listen.md).
 */
export function startListen(ctx: ListenContext): ListenParts {
  const { cache, endpoints, logger } = ctx;
  const instanceId = randomBytes(6).toString("hex");
  const queues = new ListenQueues({
    rabbit: ctx.rabbit,
    publisher: ctx.publisher,
    names: ctx.names,
    logger,
    expiryMs: ctx.sessionExpiryMs,
  });
  const hub = new ListenHub({
    instanceId,
    reportTimeoutMs: ctx.reportTimeoutMs,
    heartbeatMs: LISTEN_HEARTBEAT_MS,
    relayReport: (instance, report) => queues.relayReport(instance, report),
  });
  /** The endpoint as stored now, or undefined once it is gone. */
  const currentEndpoint = (tenantId: string, endpointId: string) =>
    endpoints.get(tenantId, endpointId).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
  /** Ends the streams on this instance that a control change takes away. */
  const endStreams = (change: ControlNotification | undefined) =>
    hub.applyControlChange(change, async (stream) => {
      const endpoint = await currentEndpoint(stream.tenantId, stream.endpointId);
      if (!endpoint?.listen || !isLiveTenant(await cache.tenant(stream.tenantId))) {
        return new ListenStreamEndedError(
          Code.NotFound,
          `listen endpoint "${stream.endpointId}" (or its tenant) was deleted`,
        );
      }
      if (endpoint.disabled) return listenEndpointDisabled(endpoint);
      return undefined;
    });
  /** Deletes the queues of the endpoints a control change says were deleted. */
  const deleteQueues = async (change: ControlNotification | undefined) => {
    const deleted = await deletedEndpointsOf(change, {
      endpoint: currentEndpoint,
      tenant: (tenantId) => cache.tenant(tenantId),
    }).catch((err: unknown) => {
      logger.warn({ err, change }, "deleted endpoints not read; their listen queues expire unused");
      return [];
    });
    for (const endpointId of deleted) {
      await queues
        .delete(endpointId)
        .catch((err: unknown) =>
          logger.warn(
            { err, endpointId },
            "listen queue of a deleted endpoint not deleted; it expires unused",
          ),
        );
    }
  };
  // A revoked key's streams end at once; so do those of an endpoint deleted or disabled, or a tenant gone.
  // Then the queues of deleted endpoints go, on every instance (a delete is idempotent): an instance
  // down meanwhile misses it, and RabbitMQ deletes such a queue once unused past its expiry.
  ctx.control.listen((change) => {
    void endStreams(change).then(() => deleteQueues(change));
  });
  const sweep = setInterval(() => {
    expireIdleListenEndpoints({
      endpoints,
      expiryMs: ctx.sessionExpiryMs,
      async announce(endpoint) {
        cache.invalidate(endpoint.tenant_id, endpoint._id);
        await publishControlChange(ctx.publisher, ctx.names, endpoint.tenant_id, endpoint._id);
        logger.info(
          { endpointId: endpoint._id, tenantId: endpoint.tenant_id },
          "idle listen endpoint deleted",
        );
      },
      now: () => Date.now(),
    }).catch((err) => logger.warn({ err }, "idle listen endpoints not swept"));
  }, LISTEN_SWEEP_MS);
  sweep.unref();
  const reports = queues.consumeReports(instanceId, async (report) => {
    hub.settle(report);
  });

  const service = listenService({
    hub,
    endpoints,
    logger,
    touchEveryMs: LISTEN_TOUCH_MS,
    async touch(endpoint) {
      await endpoints
        .touchListen(endpoint, new Date())
        .catch((err) => logger.warn({ err, endpointId: endpoint._id }, "listen endpoint not marked as seen"));
    },
    async attach(stream, endpoint) {
      const consumer = await queues.consume(
        endpoint._id,
        ctx.concurrencyOf(endpoint.max_concurrency),
        async (task) => {
          const deps: DeliverDeps = {
            ...ctx.deliverDeps,
            post: (_url, headers, body) => stream.forward(task, { headers, body }),
          };
          try {
            ctx.recordOutcome(task, await deliverTask(deps, task));
          } catch (err) {
            // Not an attempt: the task goes back to its queue for the next stream.
            if (err instanceof ListenStreamClosedError) ctx.breakers.abandon(task.endpointId);
            throw err;
          }
        },
      );
      return () => consumer.close();
    },
  });

  return {
    service,
    relay: (task) => queues.relay(task),
    consumers: [reports],
    drain: () =>
      hub.closeAll(
        new ListenStreamEndedError(Code.Unavailable, "this delivery instance is shutting down; reconnect"),
      ),
    stop: () => clearInterval(sweep),
  };
}
