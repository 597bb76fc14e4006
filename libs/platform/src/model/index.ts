// @herald/platform/model: Herald's domain model on top of the runtime (`@herald/platform`): documents
// and collections, the control-plane cache and notifications, API keys and auth, sealed secrets,
// endpoint headers, the URL policy, and the queues services exchange messages through (queues.ts).

export type { UrlAllowlist } from "./address-policy.js";
export {
  EMPTY_ALLOWLIST,
  forbiddenDestinationReason,
  isAllowlistedHostname,
  isLocalhostName,
  parseAllowlist,
} from "./address-policy.js";
export type { ApiKeyDocument } from "./api-keys.js";
export { ApiKeyAuthenticator, apiKeysCollection, MAX_API_KEY_CACHE_TTL_MS } from "./api-keys.js";
export type { Principal } from "./auth.js";
export {
  authorizeAdmin,
  authorizeEndpoint,
  authorizeTenant,
  authorizeWrite,
  generateApiKey,
  hashApiKeySecret,
  isAdmin,
  newApiKeyId,
  principalOf,
  safeEqual,
  visibleEndpoints,
} from "./auth.js";
export { apiKeyAuthentication } from "./authentication.js";
export { operatorTenant, secretKeyRing, urlAllowlist } from "./config-fields.js";
export type { AckRequest, ControlFeed, ControlListener } from "./control.js";
export { consumeControlChanges, controlFeed, isEventTypeChange, publishControlChange } from "./control.js";
export type { AckInbox, AckOutcome, AckWait } from "./control-acks.js";
export { ControlAcks, openAckInbox } from "./control-acks.js";
export { ControlPlaneCache } from "./control-plane-cache.js";
export type {
  EndpointDocument,
  EndpointSecretDocument,
  EventDocument,
  EventTypeDocument,
  ListenSessionDocument,
  PortalSettingsDocument,
  TenantDocument,
  TenantSettingsDocument,
} from "./documents.js";
export {
  Collections,
  defaultEndpointDocument,
  defaultTenantDocument,
  endpointsCollection,
  eventIndexes,
  eventsCollection,
  eventTypeId,
  eventTypesCollection,
  isLiveTenant,
  tenantOwnsEvent,
  tenantsCollection,
} from "./documents.js";
export {
  endpointHeaders,
  HEADER_VALUE_MASK,
  maskedHeaders,
  sealHeaders,
  unmaskHeaders,
} from "./endpoint-headers.js";
export { EndpointStore } from "./endpoint-store.js";
export { encodeUlid, newEventId } from "./event-id.js";
export type { PayloadCheck, SchemaViolation } from "./event-schemas.js";
export {
  compileEventSchema,
  describeViolation,
  EventSchemaCache,
  MAX_EXAMPLE_BYTES,
  MAX_EXAMPLES,
  parseJsonText,
} from "./event-schemas.js";
export { eventIdTime } from "./event-time.js";
export type { Registration, ServiceInstance, ServiceInstanceDocument } from "./instances.js";
export {
  describeInstance,
  HEARTBEAT_INTERVAL_MS,
  keepRegistered,
  LIVENESS_MS,
  ServiceInstances,
  serviceInstancesCollection,
  thisInstance,
} from "./instances.js";
export {
  authorizeListener,
  isListenEndpoint,
  LISTEN_URL_SCHEME,
  listenQueueArguments,
  listenQueueName,
  listenUrl,
} from "./listen-endpoints.js";
export type { OperationalEmitterOptions, OperationalFact } from "./operational-emitter.js";
export { OperationalEmitter } from "./operational-emitter.js";
export type {
  OperationalData,
  OperationalEventType,
  OperationalPayloads,
  OperationalTypeSpec,
} from "./operational-events.js";
export {
  isKnownOperationalType,
  isOperationalEventType,
  OPERATIONAL_EVENT_TYPE_NAMES,
  OPERATIONAL_EVENT_TYPES,
  OPERATIONAL_KEY_PREFIX,
  OPERATIONAL_TYPE_PREFIX,
  redactedEndpointUrl,
} from "./operational-events.js";
export {
  AUDIT_RECORD_GATHER_MS,
  auditRecordQueue,
  deadTaskQueue,
  eventMessage,
  eventQueue,
  MAX_BATCH_PAYLOAD_BYTES,
  MAX_EVENTS_PER_MESSAGE,
  MAX_RECORDS_PER_MESSAGE,
  MAX_TASKS_PER_MESSAGE,
  taskQueue,
} from "./queues.js";
export { SecretBox, SecretBoxError } from "./secret-box.js";
export { signingSecrets } from "./signing-secrets.js";
export type { TestDeliveryClient } from "./test-deliveries.js";
export {
  NoResponderError,
  ReplyTimeoutError,
  serveTestDeliveries,
  testDeliveryClient,
} from "./test-deliveries.js";
export { HERALD_VERSION } from "./version.js";
export { WARM_UP_PAYLOAD_JSON, WARM_UP_TENANT_ID } from "./warm-up-event.js";
