import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AttemptTrigger, type AuditRecord } from "@herald/contracts";
import { Batcher, type Logger, type Queue } from "@herald/platform";
import { trace } from "@opentelemetry/api";
import type { Consumer } from "rabbitmq-client";
import type { AttemptLogWriter, DeliveryChange, RouteRecord } from "./attempt-log-writer.js";
import { attemptOutcome } from "./delivery-state.js";
import { attemptToDocument, deliveryId } from "./documents.js";

/** Why a record cannot be stored, or undefined when it can. */
export function recordProblem(record: AuditRecord): string | undefined {
  switch (record.record.case) {
    case "attempt": {
      const a = record.record.value;
      if (!a.id) return "attempt without id";
      if (!a.tenantId || !a.eventId || !a.endpointId) return "attempt without tenant, event or endpoint id";
      if (!a.attemptTime) return "attempt without attempt_time";
      return undefined;
    }
    case "routing": {
      const r = record.record.value;
      if (!r.tenantId || !r.eventId) return "routing record without tenant or event id";
      return undefined;
    }
    default:
      return "empty record";
  }
}

/**
 * Writes one batch of audit records: the attempts (duplicates skipped), the routes, then each delivery
 * with attempts in the batch once. Every step is idempotent, so writing a batch again after a crash is
 * harmless. Resolves once they are written; `counted` settles when the attempts' health rollups are
 * written too (see {@link AttemptLogWriter.writeAttempts}): the records may be acked only then.
 */
export async function writeAuditRecords(
  writer: AttemptLogWriter,
  records: AuditRecord[],
  now: Date,
): Promise<{ counted: Promise<void> }> {
  const attempts = [];
  const routes: RouteRecord[] = [];
  const deliveries = new Map<string, DeliveryChange>();
  for (const record of records) {
    if (record.record.case === "attempt") {
      const attempt = record.record.value;
      attempts.push(attemptToDocument(attempt));
      // A test delivery is in the attempt log only: it is not a delivery of an event.
      if (attempt.trigger === AttemptTrigger.TEST) continue;
      // Also for attempts that were already stored: the crash that caused the redelivery may have come
      // before their delivery was updated.
      const key = deliveryId(attempt.eventId, attempt.endpointId);
      let change = deliveries.get(key);
      if (!change) {
        const ref = { tenantId: attempt.tenantId, eventId: attempt.eventId, endpointId: attempt.endpointId };
        change = { ref, outcomes: [] };
        deliveries.set(key, change);
      }
      change.outcomes.push(attemptOutcome(attempt, record.state));
    } else if (record.record.case === "routing") {
      const routing = record.record.value;
      routes.push({
        tenantId: routing.tenantId,
        eventId: routing.eventId,
        endpointIds: [...new Set(routing.endpointIds)],
        routeTime: routing.routeTime ? timestampDate(routing.routeTime) : now,
        skipped: routing.skipped.map((s) => ({
          endpoint_id: s.endpointId,
          reason: s.reason,
          ...(s.filter ? { filter: s.filter } : {}),
          ...(s.detail ? { detail: s.detail } : {}),
        })),
        skippedOmitted: routing.skippedOmitted,
      });
    }
  }
  const { counted } = await writer.writeAttempts(attempts);
  await writer.recordRoutes(routes);
  await writer.applyDeliveryChanges([...deliveries.values()], now);
  return { counted };
}

/**
 * Audit batches written at once on MongoDB. A batch is a few round trips one after another (attempts,
 * routes, deliveries, health rollups), so a second batch uses the time the first waits on the server;
 * updates of one delivery or one rollup still go one at a time (KeyedSerializer), and the prefetch
 * bounds the records in memory whatever this is.
 */
export const CONCURRENT_AUDIT_WRITES = 4;

/**
 * Batches audit writes at once: {@link CONCURRENT_AUDIT_WRITES} where the server writes in parallel, one
 * where it writes one transaction at a time (concurrent batches would only queue there, while records
 * that arrive during a write make the next batch fuller; see docs/storage.md).
 */
export function auditWritesAtOnce(capabilities: { concurrentWrites: boolean }): number {
  return capabilities.concurrentWrites ? CONCURRENT_AUDIT_WRITES : 1;
}

/** Options of {@link consumeAuditRecords}. */
export interface AuditConsumerOptions {
  logger: Logger;
  writer: AttemptLogWriter;
  /** Records per MongoDB write. */
  batchSize: number;
  /** Longest a record waits for its batch to fill, in ms. */
  batchDelayMs: number;
  /** Batches written at once: see {@link auditWritesAtOnce}. */
  writesAtOnce: number;
  /** Clock for `update_time`; default the system clock. */
  now?: () => Date;
  /** The records of a batch to store; default all. Audit drops those of deleted tenants here. */
  keep?: (records: AuditRecord[]) => Promise<AuditRecord[]>;
  /** Told of each batch once it is written (valid records only), with the seconds it took. */
  onWritten?: (records: readonly AuditRecord[], seconds: number) => void;
}

/**
 * Consumes `audit.attempts` (each message a batch of records from one publisher), writing records in
 * batches of `batchSize` across messages. A message is acked only once all its records are written and
 * their health rollups too, so a crash loses nothing; the redelivered records are then skipped as
 * duplicates. `batchSize` messages are prefetched and handled at once: enough to fill a batch when each
 * holds one record (an idle publisher sends them so), and at most `batchSize` × 50 records in memory
 * (40,000 by default) when busy publishers send full ones (MAX_RECORDS_PER_MESSAGE). Messages waiting
 * for their rollups hold their place in the prefetch, so when they are half of it the rollups are
 * written at once rather than at the end of their interval.
 */
export function consumeAuditRecords(
  queue: Queue<AuditRecord>,
  options: AuditConsumerOptions,
): { consumer: Consumer; batcher: Batcher<AuditRecord> } {
  const now = options.now ?? (() => new Date());
  const { logger, writer } = options;
  // When each record's rollups are written: set by the write that stored it.
  const counted = new WeakMap<AuditRecord, Promise<void>>();
  const batcher = new Batcher<AuditRecord>({
    maxSize: options.batchSize,
    maxDelayMs: options.batchDelayMs,
    maxConcurrentWrites: options.writesAtOnce,
    write: async (batch) => {
      const started = performance.now();
      const records = options.keep ? await options.keep(batch) : batch;
      if (records.length < batch.length)
        logger.info({ dropped: batch.length - records.length }, "audit records of deleted tenants dropped");
      const written = await writeAuditRecords(writer, records, now());
      for (const record of batch) counted.set(record, written.counted);
      options.onWritten?.(records, (performance.now() - started) / 1000);
      logger.debug({ records: records.length }, "audit records written");
    },
  });
  const inFlight = options.batchSize;
  let awaitingRollups = 0;
  const consumer = queue.consumeMessages({
    prefetch: inFlight,
    concurrency: inFlight,
    handle: async (records, meta) => {
      const valid = records.filter((record) => {
        const problem = recordProblem(record);
        // Retrying cannot fix a malformed record; acking drops it, with a trace in the log.
        if (problem) logger.warn({ problem, messageId: meta.messageId }, "malformed audit record dropped");
        return !problem;
      });
      annotateSpan(valid);
      await Promise.all(valid.map((record) => batcher.add(record)));
      awaitingRollups++;
      try {
        if (awaitingRollups >= inFlight / 2) writer.flushRollups();
        await Promise.all(valid.map((record) => counted.get(record)));
      } finally {
        awaitingRollups--;
      }
    },
  });
  return { consumer, batcher };
}

/** Names the message's tenant and event when it holds one event's records (the idle case). */
function annotateSpan(records: AuditRecord[]): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute("herald.audit.records", records.length);
  const first = records[0]?.record.value;
  if (!first || records.some((r) => r.record.value?.eventId !== first.eventId)) return;
  span.setAttributes({ "herald.tenant_id": first.tenantId, "herald.event_id": first.eventId });
}
