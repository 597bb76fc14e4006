import { create } from "@bufbuild/protobuf";
import { type AuditRecord, AuditRecordBatchSchema } from "@herald/contracts";
import { type Context, context, type Link, trace } from "@opentelemetry/api";
import { Batcher } from "../batcher.js";
import type { ProtoPublisher } from "./messaging.js";
import type { TopologyNames } from "./topology.js";

/**
 * Records one herald.attempts message carries at most. Audit holds a few hundred messages at once, so
 * this bounds its memory (an attempt keeps up to 4 KiB of response body).
 */
export const MAX_RECORDS_PER_MESSAGE = 50;

interface QueuedRecord {
  record: AuditRecord;
  /** The context the record was published in: its trace goes on through the message. */
  context: Context;
}

/**
 * Publishes audit records to herald.attempts, several to a message: while one message waits for its
 * confirm, the records published meanwhile go together in the next. An idle service sends each record
 * on its own at once; a busy one sends a message per confirm round trip rather than one per record,
 * which spares RabbitMQ most of its work per message (a quorum-queue append, a confirm, a delivery and
 * an ack each). The message continues the first record's trace and links the others'.
 */
export class AuditRecordPublisher {
  readonly #batcher: Batcher<QueuedRecord>;

  constructor(publisher: ProtoPublisher, names: TopologyNames) {
    this.#batcher = new Batcher<QueuedRecord>({
      maxSize: MAX_RECORDS_PER_MESSAGE,
      maxDelayMs: 0,
      maxConcurrentWrites: 1,
      write: (queued) =>
        context.with((queued[0] as QueuedRecord).context, () =>
          publisher.publish(
            { exchange: names.exchanges.attempts, links: queued.slice(1).flatMap(linkTo) },
            AuditRecordBatchSchema,
            create(AuditRecordBatchSchema, { records: queued.map((q) => q.record) }),
          ),
        ),
    });
  }

  /** Resolves once RabbitMQ confirmed the message holding the record; rejects if publishing it failed. */
  publish(record: AuditRecord): Promise<void> {
    return this.#batcher.add({ record, context: context.active() });
  }

  /** Waits until every record handed over so far was published. */
  drain(): Promise<void> {
    return this.#batcher.drain();
  }
}

function linkTo(queued: QueuedRecord): Link[] {
  const spanContext = trace.getSpanContext(queued.context);
  return spanContext ? [{ context: spanContext }] : [];
}
