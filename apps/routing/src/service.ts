import { configFields, type ServiceDefinition, serviceConfigSchema } from "@herald/platform";
import { type ApiKeyAuthenticator, apiKeyAuthentication, controlFeed } from "@herald/platform/model";
import { controlPlane, controlPlaneConfigFields, controlPlaneIndexes } from "./control/index.js";
import { eventRouter } from "./routing/index.js";
import { warmUpRoutingPath } from "./routing/warm-up.js";
import { routingMetrics } from "./routing-metrics.js";

export const configSchema = serviceConfigSchema(7002)
  .extend(controlPlaneConfigFields)
  .extend({
    /**
     * Events routed at once per instance. Routing one mostly waits for RabbitMQ to confirm its tasks
     * (tens of ms on a busy broker), so the rate is about this many per confirm time
     * (docs/decisions/throughput-defaults.md).
     */
    ROUTING_CONCURRENCY: configFields.positiveInt
      .max(1_000)
      .default(128)
      .describe("events routed at once per instance"),
  });

export const routingService: ServiceDefinition<typeof configSchema, ApiKeyAuthenticator> = {
  name: "routing",
  authentication: apiKeyAuthentication,
  configSchema,
  indexes: controlPlaneIndexes,
  async start(ctx) {
    const metrics = routingMetrics(ctx.metrics);
    const control = controlPlane(ctx, metrics);
    await control.ready;
    const router = eventRouter(ctx, { concurrency: ctx.config.ROUTING_CONCURRENCY, metrics });
    controlFeed(ctx).listen((change) => router.cache.onControlChange(change));
    return {
      routes: control.routes,
      services: control.services,
      publicMethods: control.publicMethods,
      consumers: [...router.consumers, ...control.consumers],
      queues: [ctx.names.queues.routingEvents, ...ctx.names.shardQueues(ctx.names.queues.routingEvents)],
      stop: () => control.stop(),
      warmUp: async () => {
        await warmUpRoutingPath(ctx.logger);
      },
    };
  },
};
