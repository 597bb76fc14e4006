import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  ApiKeyService,
  EndpointService,
  EventTypeService,
  PortalService,
  TenantService,
} from "@herald/contracts";
import { type IndexPlan, openQueue, type ServiceContext } from "@herald/platform";
import {
  type ApiKeyAuthenticator,
  Collections,
  controlFeed,
  EndpointStore,
  EventSchemaCache,
  endpointsCollection,
  eventQueue,
  OperationalEmitter,
  openAckInbox,
  SecretBox,
  ServiceInstances,
  testDeliveryClient,
} from "@herald/platform/model";
import type { Consumer } from "rabbitmq-client";
import type { RoutingMetrics } from "../routing-metrics.js";
import { apiKeyService } from "./api-key-rpc.js";
import { ApiKeyStore } from "./api-key-store.js";
import { ControlChanges } from "./changes.js";
import type { ControlPlaneConfig } from "./config.js";
import { endpointService } from "./endpoint-rpc.js";
import { eventTypeService } from "./event-type-rpc.js";
import { EventTypeStore } from "./event-type-store.js";
import { PortalLinkStore } from "./portal-links.js";
import { portalService } from "./portal-rpc.js";
import { startSecretResealing } from "./reseal.js";
import { startRotationEndSweep } from "./rotation-ends.js";
import { tenantService } from "./tenant-rpc.js";
import { TenantStore } from "./tenant-store.js";

export type { ControlPlaneConfig } from "./config.js";
export { controlPlaneConfigFields } from "./config.js";
export type { HostResolver, UrlPolicy } from "./url-policy.js";
export { checkEndpointUrl } from "./url-policy.js";

/**
 * Indexes of the control-plane collections (tenants need none beyond _id). Event types are keyed
 * `<tenant>:<name>`; a tenant's are read by `tenant_id` and an `_id` range, which the index serves.
 */
export const controlPlaneIndexes: IndexPlan = {
  [Collections.endpoints]: [{ key: { tenant_id: 1, _id: 1 } }],
  [Collections.apiKeys]: [{ key: { tenant_id: 1, _id: 1 } }],
  [Collections.eventTypes]: [{ key: { tenant_id: 1, _id: 1 } }],
  [Collections.portalLinks]: [{ key: { expire_time: 1 } }],
};

/** The control plane's part of the routing service. */
export interface ControlPlane {
  routes(router: ConnectRouter): void;
  /** Fully-qualified names of the services in `routes`. */
  services: DescService[];
  /** Methods callable without a key. */
  publicMethods: DescMethod[];
  /** The inbox of acknowledgements of this instance's control notifications, stopped with the service. */
  consumers: Consumer[];
  /** Resolves once the acknowledgement inbox exists (before it, RevokeApiKey waits its whole bound). */
  ready: Promise<void>;
  /**
   * Stops the background re-seal of endpoint secrets and the rotation sweep, waiting for the work under
   * way.
   */
  stop(): Promise<void>;
}

/**
 * Builds TenantService, EndpointService, ApiKeyService, EventTypeService and PortalService over the
 * service's MongoDB and RabbitMQ.
 */
export function controlPlane(
  ctx: ServiceContext<ControlPlaneConfig, ApiKeyAuthenticator>,
  recorders: RoutingMetrics,
): ControlPlane {
  const secretBox = new SecretBox(ctx.config.HERALD_SECRET_KEYS);
  const acknowledgements = openAckInbox(ctx.rabbit, ctx.logger);
  const deps = {
    tenants: new TenantStore(ctx.mongo.db),
    endpoints: new EndpointStore(ctx.mongo.db),
    apiKeys: new ApiKeyStore(ctx.mongo.db),
    eventTypes: new EventTypeStore(ctx.mongo.db),
    portalLinks: new PortalLinkStore(ctx.mongo.db),
    secretBox,
    urlPolicy: { allowlist: ctx.config.HERALD_URL_ALLOWLIST, allowHttp: ctx.config.HERALD_ALLOW_HTTP },
    changes: new ControlChanges(ctx.publisher, ctx.names, ctx.logger, ctx.authenticator, {
      instances: new ServiceInstances(ctx.mongo.db),
      inbox: acknowledgements,
    }),
    schemas: new EventSchemaCache(),
    testSend: {
      client: testDeliveryClient(ctx, ctx.config.TEST_SEND_TIMEOUT),
      timeoutMs: ctx.config.TEST_SEND_TIMEOUT,
    },
    now: () => new Date(),
  };
  controlFeed(ctx).listen((change) => deps.schemas.onControlChange(change));
  const resealing = startSecretResealing(endpointsCollection(ctx.mongo.db), secretBox, {
    batchSize: ctx.config.SECRET_RESEAL_BATCH,
    intervalMs: ctx.config.SECRET_RESEAL_INTERVAL,
    logger: ctx.logger,
    recorders,
  });
  const operational = new OperationalEmitter({
    db: ctx.mongo.db,
    events: openQueue(eventQueue, ctx),
    operatorTenantId: ctx.config.HERALD_OPERATOR_TENANT,
    logger: ctx.logger,
  });
  const rotationSweep = startRotationEndSweep({
    withSecretsExpiring: (from, to) => deps.endpoints.withSecretsExpiring(from, to),
    emit: (fact) => operational.emit(fact),
    logger: ctx.logger,
  });
  return {
    routes(router) {
      router.service(TenantService, tenantService(deps));
      router.service(EndpointService, endpointService(deps));
      router.service(ApiKeyService, apiKeyService(deps));
      router.service(EventTypeService, eventTypeService(deps));
      router.service(PortalService, portalService(deps));
    },
    services: [TenantService, EndpointService, ApiKeyService, EventTypeService, PortalService],
    publicMethods: [PortalService.method.exchangePortalLink],
    consumers: [acknowledgements.consumer],
    ready: acknowledgements.ready,
    async stop() {
      await Promise.all([resealing.stop(), rotationSweep.stop()]);
      await operational.drain();
      await deps.testSend.client.close();
    },
  };
}
