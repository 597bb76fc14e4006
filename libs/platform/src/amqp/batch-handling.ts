import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import type { ProtoPublisher } from "./messaging.js";

/**
 * Handles every item of a batch message at once and waits for all of them. Items whose handling failed
 * are handed to `republishAlone`, to go back to the queue each in a message of its own: the items that
 * succeeded are not handled again, and an item that always fails reaches the queue's delivery limit (and
 * is parked) alone. A batch of one fails as a whole instead, so the message is requeued as any other.
 * Rejects if republishing failed: then the whole message is requeued, and handled again (at least once).
 */
export async function handleBatch<T>(
  items: readonly T[],
  handle: (item: T) => Promise<unknown>,
  republishAlone: (failed: T[], firstError: unknown) => Promise<void>,
): Promise<void> {
  if (items.length === 1) {
    await handle(items[0] as T);
    return;
  }
  const results = await Promise.allSettled(items.map(handle));
  const failed = items.filter((_, i) => results[i]?.status === "rejected");
  const firstError = results.find((r): r is PromiseRejectedResult => r.status === "rejected")?.reason;
  if (failed.length > 0) await republishAlone(failed, firstError);
}

/** Options of {@link republishEachAlone}. */
export interface RepublishOptions<Item, S extends DescMessage> {
  /** Exchange the batch came through, so each item goes back to the same queue. */
  exchange: string;
  /** Schema of the batch message. */
  schema: S;
  /** Builds the batch message holding `items`. */
  batchOf: (items: Item[]) => MessageShape<S>;
  /** Message id of an item's message. */
  idOf: (item: Item) => string;
  logger: Logger;
  /** What the items are, for the log ("events", "tasks"). */
  itemsName: string;
}

/**
 * A `republishAlone` for {@link handleBatch}: publishes each failed item again, in a batch of one (so it
 * keeps the trace context it carries), and logs why. Resolves once RabbitMQ confirmed them all.
 */
export function republishEachAlone<Item, S extends DescMessage>(
  publisher: ProtoPublisher,
  options: RepublishOptions<Item, S>,
): (failed: Item[], firstError: unknown) => Promise<void> {
  return async (failed, firstError) => {
    options.logger.warn(
      { err: firstError, ids: failed.map(options.idOf) },
      `${failed.length} ${options.itemsName} of a batch failed; each goes back to the queue alone`,
    );
    await Promise.all(
      failed.map((item) =>
        publisher.publish(
          { exchange: options.exchange, messageId: options.idOf(item) },
          options.schema,
          options.batchOf([item]),
        ),
      ),
    );
  };
}
