import { EventBatchSchema, EventSchema } from "@herald/contracts";
import { batchDecoder } from "@herald/platform";
import { eventBatchOf } from "@herald/platform/model";

/**
 * Decodes a herald.events message by its AMQP `type`: an EventBatch, or a single Event as ingest
 * published them before batches (still in the queue, or from an older instance during a rolling
 * upgrade), as a batch of one. Throws on a body that is neither.
 */
export const decodeEvents = batchDecoder(EventBatchSchema, EventSchema, (event) => eventBatchOf([event]));
