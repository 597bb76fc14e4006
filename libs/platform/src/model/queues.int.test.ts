import { create } from "@bufbuild/protobuf";
import { type AuditRecordBatch, AuditRecordBatchSchema, AuditRecordSchema } from "@herald/contracts";
import { SpanKind } from "@opentelemetry/api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openQueue, type QueueContext } from "../amqp/queues.js";
import { topologyNames } from "../amqp/topology.js";
import { useTestTracing } from "../amqp/tracing.test-support.js";
import { createLogger } from "../logger.js";
import { openTestBroker, receiveMessages, type TestBroker, testEnv } from "../testing/index.js";
import { inSpan } from "../tracing.js";
import { AUDIT_RECORD_GATHER_MS, auditRecordQueue, MAX_RECORDS_PER_MESSAGE } from "./queues.js";

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
const exporter = useTestTracing();
let broker: TestBroker;

beforeAll(async () => {
  broker = await openTestBroker(env, [1_000]);
});

beforeEach(() => exporter.reset());

const logger = createLogger({ service: "test", level: "silent" });
const queueContext = (): QueueContext => ({ ...broker, names, logger, config: { RETRY_TIERS: [1_000] } });

afterAll(() => broker?.close());

function attempt(eventId: string) {
  return create(AuditRecordSchema, {
    record: { case: "attempt", value: { id: `${eventId}-1`, tenantId: "t1", eventId, endpointId: "ep1" } },
  });
}

/** Consumes audit.attempts until `records` records came, resolving with the messages that held them. */
function receiveBatches(records: number): Promise<AuditRecordBatch[]> {
  return receiveMessages(
    broker.rabbit,
    {
      names,
      queue: names.queues.auditAttempts,
      schema: AuditRecordBatchSchema,
      count: (batch) => batch.records.length,
    },
    records,
  );
}

describe("the audit record queue", () => {
  it("sends a record published alone in a message of its own", async () => {
    const received = receiveBatches(1);
    await openQueue(auditRecordQueue, queueContext()).publish(attempt("alone"));
    const batches = await received;
    expect(batches.map((b) => b.records.map((r) => r.record.value?.eventId))).toEqual([["alone"]]);
  });

  it("puts records published together into few messages, each record once and none over the limit", async () => {
    const records = Array.from({ length: 250 }, (_, i) => attempt(`evt_${i}`));
    const received = receiveBatches(records.length);
    const auditRecords = openQueue(auditRecordQueue, queueContext());
    await Promise.all(records.map((record) => auditRecords.publish(record)));
    const batches = await received;
    // 250 records in one tick: a full message at once, then the rest while it is confirmed.
    expect(batches.map((b) => b.records.length)).toEqual([50, 50, 50, 50, 50]);
    expect(MAX_RECORDS_PER_MESSAGE).toBe(50);
    const ids = batches.flatMap((b) => b.records.map((r) => r.record.value?.eventId));
    expect(new Set(ids).size).toBe(250);
  });

  it("lets a record wait for the next ones to share its message, rather than one message each", async () => {
    const received = receiveBatches(3);
    const auditRecords = openQueue(auditRecordQueue, queueContext());
    // Each in a later turn of the event loop: without the wait, the first would have gone alone.
    const published = [];
    for (const id of ["a", "b", "c"]) {
      published.push(auditRecords.publish(attempt(id)));
      await new Promise(setImmediate);
    }
    await Promise.all(published);
    const batches = await received;
    expect(AUDIT_RECORD_GATHER_MS).toBeGreaterThan(0);
    expect(batches.map((b) => b.records.map((r) => r.record.value?.eventId))).toEqual([["a", "b", "c"]]);
  });

  it("continues the first record's trace and links the other records' spans", async () => {
    const received = receiveBatches(3);
    const auditRecords = openQueue(auditRecordQueue, queueContext());
    const traceIds: string[] = [];
    await Promise.all(
      ["a", "b", "c"].map((id) =>
        inSpan(`deliver ${id}`, { kind: SpanKind.INTERNAL }, async (span) => {
          traceIds.push(span.spanContext().traceId);
          await auditRecords.publish(attempt(id));
        }),
      ),
    );
    await received;
    const publishSpan = exporter.getFinishedSpans().find((s) => s.name.startsWith("publish "));
    expect(publishSpan?.spanContext().traceId).toBe(traceIds[0]);
    expect(publishSpan?.links.map((l) => l.context.traceId)).toEqual(traceIds.slice(1));
  });
});
