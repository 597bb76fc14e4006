import { create } from "@bufbuild/protobuf";
import { type AuditRecord, AuditRecordBatchSchema } from "@herald/contracts";
import { BatchPublisher } from "../amqp/batch-publisher.js";
import type { ProtoPublisher } from "../amqp/messaging.js";
import type { TopologyNames } from "../amqp/topology.js";

/**
 * Records one herald.attempts message carries at most. Audit holds a few hundred messages at once, so
 * this bounds its memory (an attempt keeps up to 4 KiB of response body).
 */
export const MAX_RECORDS_PER_MESSAGE = 50;

/**
 * Publishes audit records to herald.attempts, several to a message: while one message waits for its
 * confirm, the records published meanwhile go together in the next, so a busy service sends a message
 * per confirm round trip rather than one per record.
 */
export class AuditRecordPublisher extends BatchPublisher<AuditRecord, typeof AuditRecordBatchSchema> {
  constructor(publisher: ProtoPublisher, names: TopologyNames) {
    super(publisher, {
      exchange: names.exchanges.attempts,
      schema: AuditRecordBatchSchema,
      message: (records) => create(AuditRecordBatchSchema, { records }),
      maxItems: MAX_RECORDS_PER_MESSAGE,
      maxUnconfirmed: 1,
    });
  }
}
