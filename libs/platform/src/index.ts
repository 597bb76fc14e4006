export { AuditRecordPublisher, MAX_RECORDS_PER_MESSAGE } from "./amqp/audit-records.js";
export type { RepublishOptions } from "./amqp/batch-handling.js";
export { handleBatch, republishEachAlone } from "./amqp/batch-handling.js";
export type { BatchPublisherOptions } from "./amqp/batch-publisher.js";
export { BatchPublisher } from "./amqp/batch-publisher.js";
export { eventBatchOf, MAX_BATCH_PAYLOAD_BYTES, taskBatchOf } from "./amqp/batches.js";
export type { ConsumeOptions, MessageMeta, PublishTarget } from "./amqp/messaging.js";
export { batchDecoder, consumeProto, PROTOBUF_CONTENT_TYPE, ProtoPublisher } from "./amqp/messaging.js";
export type { TopologyNames } from "./amqp/topology.js";
export {
  DEFAULT_RETRY_TIERS_MS,
  declareTopology,
  PARKED_LIMITS,
  parkedQueueArguments,
  retryQueueArguments,
  topologyNames,
  workQueueArguments,
} from "./amqp/topology.js";
export type { ApiKeyAuthenticatorOptions, ApiKeyDocument } from "./api-keys.js";
export { ApiKeyAuthenticator, apiKeysCollection } from "./api-keys.js";
export type { Authenticator, GeneratedApiKey, Principal } from "./auth.js";
export {
  authorizeAdmin,
  authorizeTenant,
  generateApiKey,
  hashApiKeySecret,
  isAdmin,
  parseApiKeyToken,
  principalKey,
  principalOf,
  safeEqual,
  scopeName,
} from "./auth.js";
export type { BatcherOptions } from "./batcher.js";
export { Batcher } from "./batcher.js";
export type { BaseConfig, ServiceConfig } from "./config.js";
export {
  baseConfigSchema,
  ConfigError,
  configFields,
  loadConfig,
  serviceConfigSchema,
} from "./config.js";
export {
  AlreadyExistsError,
  FailedPreconditionError,
  HeraldError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  toConnectError,
  UnauthenticatedError,
  UnavailableError,
} from "./errors.js";
export type { DependencyCheck, HealthMonitorOptions } from "./health.js";
export { HealthMonitor, ServingStatus } from "./health.js";
export type { Logger, LoggerOptions } from "./logger.js";
export { createLogger, REDACTED_PATHS } from "./logger.js";
export type { IndexPlan, MongoHandle } from "./mongo.js";
export { connectMongo, ensureIndexes, isDuplicateKeyError, pingMongo } from "./mongo.js";
export type { ConnectionCutReason, ConnectionLimits } from "./rpc/connection-limits.js";
export { DEFAULT_CONNECTION_LIMITS } from "./rpc/connection-limits.js";
export { registerHealthService } from "./rpc/health-service.js";
export type { AuthInterceptorOptions } from "./rpc/interceptors.js";
export { authInterceptor, errorInterceptor, tracingInterceptor } from "./rpc/interceptors.js";
export type { HttpResponse, HttpRoute, RpcServer, RpcServerOptions } from "./rpc/server.js";
export { startRpcServer } from "./rpc/server.js";
export type { RpcTlsOptions } from "./rpc/tls.js";
export { TlsFileError } from "./rpc/tls.js";
export { SecretBox, SecretBoxError } from "./secret-box.js";
export type { RunningService, ServiceContext, ServiceDefinition, ServiceParts } from "./service.js";
export { main, runService } from "./service.js";
export { consumeControlChanges, publishControlChange } from "./store/control.js";
export type { ControlPlaneCacheOptions } from "./store/control-plane-cache.js";
export { ControlPlaneCache } from "./store/control-plane-cache.js";
export type {
  EndpointDocument,
  EndpointSecretDocument,
  EventDocument,
  TenantDocument,
  TenantSettingsDocument,
} from "./store/documents.js";
export {
  Collections,
  endpointsCollection,
  eventsCollection,
  isLiveTenant,
  tenantOwnsEvent,
  tenantsCollection,
} from "./store/documents.js";
export {
  endpointHeaders,
  HEADER_VALUE_MASK,
  maskedHeaders,
  sealHeaders,
  unmaskHeaders,
} from "./store/endpoint-headers.js";
export { eventIdTime } from "./store/event-time.js";
export { signingSecrets } from "./store/signing-secrets.js";
export type { Telemetry, TelemetryOptions } from "./telemetry.js";
export { startTelemetry } from "./telemetry.js";
export { carriedTraceContext, extractTraceContext, injectTraceContext, inSpan, tracer } from "./tracing.js";
export const HERALD_VERSION = "0.1.0";
export type { UrlAllowlist } from "./address-policy.js";
export {
  EMPTY_ALLOWLIST,
  embeddedIpv4,
  forbiddenAddressReason,
  forbiddenDestinationReason,
  isAllowlistedHostname,
  isForbiddenAddress,
  isLocalhostName,
  parseAllowlist,
} from "./address-policy.js";
export { parseDurationMs } from "./duration.js";
export { KeyedSerializer } from "./keyed-serializer.js";
export { BoundedLabel, Counter, createMetricsRegistry, Gauge, Histogram } from "./metrics.js";
