import { create, fromBinary } from "@bufbuild/protobuf";
import { type EventBatch, EventBatchSchema, EventSchema } from "@herald/contracts";

/**
 * Decodes a herald.events message by its AMQP `type`: an EventBatch, or a single Event as ingest
 * published them before batches (still in the queue, or from an older instance during a rolling
 * upgrade), as a batch of one. Throws on a body that is neither.
 */
export function decodeEvents(body: Uint8Array, type: string | undefined): EventBatch {
  return type === EventSchema.typeName
    ? create(EventBatchSchema, { events: [fromBinary(EventSchema, body)] })
    : fromBinary(EventBatchSchema, body);
}
