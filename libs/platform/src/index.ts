// @herald/platform: the service runtime. Herald's domain model is `@herald/platform/model`, test support
// `@herald/platform/testing`. Each name here is one an app uses; keep this list short (a test holds it
// to 40) and add to it by hand.

export { consumeProto, ProtoPublisher } from "./amqp/messaging.js";
export type { Queue, QueueSpec } from "./amqp/queues.js";
export { openQueue } from "./amqp/queues.js";
export { RoundRobinSlots } from "./amqp/round-robin-slots.js";
export type { TopologyNames } from "./amqp/topology.js";
export { shardOf, topologyNames } from "./amqp/topology.js";
export { Batcher } from "./batcher.js";
export type { ServiceConfig } from "./config.js";
export { ConfigError, configFields, loadConfig, serviceConfigSchema } from "./config.js";
export {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  toConnectError,
} from "./errors.js";
export { KeyedSerializer } from "./keyed-serializer.js";
export type { Logger } from "./logger.js";
export { createLogger } from "./logger.js";
export { BoundedLabel, Counter, Gauge, Histogram } from "./metrics.js";
export type { IndexPlan } from "./mongo.js";
export { ensureIndexes, isDuplicateKeyError } from "./mongo.js";
export type { RunningService, ServiceContext, ServiceDefinition } from "./service.js";
export { main, runService } from "./service.js";
export { carriedTraceContext, injectTraceContext, inSpan } from "./tracing.js";
