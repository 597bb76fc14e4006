export { AttemptLogReader } from "./attempt-log-reader.js";
export type { DeliveryChange, DeliveryRef, RouteRecord } from "./attempt-log-writer.js";
export { AttemptLogWriter } from "./attempt-log-writer.js";
export type { AuditConfig } from "./config.js";
export { configSchema } from "./config.js";
export type { DataPurgeOptions, PurgeReason, PurgeSchedule } from "./data-purge.js";
export { DataPurge, schedulePurges } from "./data-purge.js";
export type { AttemptOutcome, DeliveryStatus } from "./delivery-state.js";
export { attemptOutcome, nextDeliveryState, PENDING_STATUS } from "./delivery-state.js";
export type {
  AttemptDocument,
  DeliveryDocument,
  EventRouteDocument,
} from "./documents.js";
export {
  attemptsCollection,
  deliveriesCollection,
  deliveryId,
  eventRoutesCollection,
} from "./documents.js";
export type { AuditHandlerDeps } from "./handlers.js";
export { createAuditHandlers } from "./handlers.js";
export type { BatchOptions } from "./purge-batches.js";
export { purgeInBatches } from "./purge-batches.js";
export type { AuditConsumerOptions } from "./record-writer.js";
export { consumeAuditRecords, writeAuditRecords } from "./record-writer.js";
export { Replayer, replayTask } from "./replay.js";
export { auditIndexes, auditService } from "./service.js";
