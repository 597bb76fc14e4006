import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AuditRecord,
  AuditRecordBatchSchema,
  AuditRecordSchema,
  DeliveryState,
  ErrorClass,
  SkipReason,
} from "@herald/contracts";
import { WARM_UP_TENANT_ID } from "@herald/platform/model";
import { BSON, type Db } from "mongodb";
import { AttemptLogWriter } from "./attempt-log-writer.js";
import { recordProblem, writeAuditRecords } from "./record-writer.js";

/** Rounds of {@link warmUpRecordPath}: enough for V8 to optimise what one event's records run through. */
export const AUDIT_WARM_UP_ROUNDS = 1_000;

/**
 * Documents and write operations each round of {@link warmUpRecordPath} hands to MongoDB's driver: the
 * attempt, its health rollups (one per bucket span, two), the rollups' marker and the route. The attempt
 * was accepted at once, so its delivery gets no document, as most do.
 */
export const AUDIT_WARM_UP_WRITES_PER_ROUND = 5;

/**
 * Runs audit's per-record code on made-up records, touching nothing outside the process: one event's
 * routing record and attempt record, each decoded from a message as the consumer does and checked, then
 * written by the AttemptLogWriter audit uses (attempt, route, delivery status and health rollup
 * documents) to a stand-in database that serializes each document or operation to BSON as the driver
 * would, and finds nothing stored. Returns the documents and operations serialized.
 */
export async function warmUpRecordPath(rounds = AUDIT_WARM_UP_ROUNDS): Promise<number> {
  let written = 0;
  const writer = new AttemptLogWriter(
    bsonSerializingDb((count) => {
      written += count;
    }),
  );
  const messages = madeUpMessages("evt_warmup000000000000");
  for (let i = 0; i < rounds; i++) {
    const records: AuditRecord[] = [];
    for (const message of messages) {
      for (const record of fromBinary(AuditRecordBatchSchema, message).records) {
        if (!recordProblem(record)) records.push(record);
      }
    }
    await (await writeAuditRecords(writer, records, new Date())).counted;
  }
  return written;
}

/**
 * A stand-in for the database the AttemptLogWriter writes to: every collection serializes each document
 * or operation it is given to BSON, as the driver would, tells `onWritten` how many, and finds nothing.
 */
export function bsonSerializingDb(onWritten: (count: number) => void = () => {}): Db {
  const serialize = (docs: readonly object[]) => {
    for (const doc of docs) BSON.serialize(doc);
    onWritten(docs.length);
  };
  const collection = {
    insertMany: async (docs: object[]) => serialize(docs),
    insertOne: async (doc: object) => serialize([doc]),
    bulkWrite: async (ops: object[]) => {
      serialize(ops);
      return { matchedCount: ops.length };
    },
    find: () => ({ toArray: async () => [] }),
  };
  return { collection: () => collection } as unknown as Db;
}

/** An event's routing record and its first attempt's record, each in a message of its own. */
function madeUpMessages(eventId: string): Uint8Array[] {
  const now = timestampFromDate(new Date());
  const records = [
    create(AuditRecordSchema, {
      record: {
        case: "routing",
        value: {
          eventId,
          tenantId: WARM_UP_TENANT_ID,
          eventType: "warm.up",
          endpointIds: ["ep_warmup"],
          routeTime: now,
          skipped: [{ endpointId: "ep_other", reason: SkipReason.EVENT_TYPE }],
        },
      },
      state: DeliveryState.PENDING,
    }),
    create(AuditRecordSchema, {
      record: {
        case: "attempt",
        value: {
          id: `att_${randomUUID().replaceAll("-", "")}`,
          tenantId: WARM_UP_TENANT_ID,
          eventId,
          endpointId: "ep_warmup",
          attemptNumber: 1,
          success: true,
          responseStatus: 200,
          responseBody: "ok",
          latencyMs: 2,
          errorClass: ErrorClass.NONE,
          attemptTime: now,
          url: "https://warm-up.invalid/hook",
        },
      },
      state: DeliveryState.SUCCEEDED,
    }),
  ];
  return records.map((record) =>
    toBinary(AuditRecordBatchSchema, create(AuditRecordBatchSchema, { records: [record] })),
  );
}
