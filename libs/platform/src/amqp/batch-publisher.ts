import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { type Context, context, type Link, trace } from "@opentelemetry/api";
import { Batcher } from "../batcher.js";
import type { ProtoPublisher } from "./messaging.js";

/** Options of {@link BatchPublisher}. */
export interface BatchPublisherOptions<Item, S extends DescMessage> {
  /** Exchange every message goes to. */
  exchange: string;
  /** Routing key every message carries; default none. */
  routingKey?: string;
  /** Schema of the message that carries a batch. */
  schema: S;
  /** Builds the message carrying `items`. */
  message: (items: Item[]) => MessageShape<S>;
  /** Items one message carries at most. */
  maxItems: number;
  /**
   * Bytes of items one message carries at most, counted by `itemBytes`: an item bigger than this goes
   * alone, so no message outgrows the larger of this and its biggest item. Default no limit.
   */
  maxBytes?: number;
  /** An item's bytes (its payload, say), for `maxBytes`. */
  itemBytes?: (item: Item) => number;
  /**
   * Messages awaiting their confirm at once; default no limit. With 1, the items published while one
   * message awaits its confirm go together in the next: the most items per message, each waiting for
   * up to one more round trip. Without a limit, a message carries what was published in the same turn
   * of the event loop, and nothing waits.
   */
  maxUnconfirmed?: number;
  /**
   * Longest the first item of a message waits for others to join it, in ms; default 0 (what was
   * published in the same turn of the event loop). For items off the latency path: every message costs
   * the broker the same whatever it holds, so a wait of a few ms saves most messages at moderate rates.
   */
  maxDelayMs?: number;
}

interface QueuedItem<Item> {
  item: Item;
  /** The context the item was published in: its trace goes on through the message. */
  context: Context;
}

/**
 * Publishes items several to a message, with publisher confirms: `publish` resolves once RabbitMQ
 * confirmed the message holding the item. A message costs RabbitMQ a quorum-queue append, a confirm,
 * a delivery and an ack whatever it holds, so a busy service sends far fewer. An idle one sends each
 * item on its own at once. The message continues the first item's trace and links the others'.
 */
export class BatchPublisher<Item, S extends DescMessage> {
  readonly #batcher: Batcher<QueuedItem<Item>>;

  constructor(publisher: ProtoPublisher, options: BatchPublisherOptions<Item, S>) {
    const itemBytes = options.itemBytes;
    this.#batcher = new Batcher<QueuedItem<Item>>({
      maxSize: options.maxItems,
      maxWeight: options.maxBytes,
      weight: itemBytes && ((queued) => itemBytes(queued.item)),
      maxDelayMs: options.maxDelayMs ?? 0,
      maxConcurrentWrites: options.maxUnconfirmed,
      write: (queued) =>
        context.with((queued[0] as QueuedItem<Item>).context, () =>
          publisher.publish(
            {
              exchange: options.exchange,
              routingKey: options.routingKey,
              links: queued.slice(1).flatMap(linkTo),
            },
            options.schema,
            options.message(queued.map((q) => q.item)),
          ),
        ),
    });
  }

  /** Resolves once RabbitMQ confirmed the message holding the item; rejects if publishing it failed. */
  publish(item: Item): Promise<void> {
    return this.#batcher.add({ item, context: context.active() });
  }

  /** Waits until every item handed over so far was published. */
  drain(): Promise<void> {
    return this.#batcher.drain();
  }
}

function linkTo(queued: QueuedItem<unknown>): Link[] {
  const spanContext = trace.getSpanContext(queued.context);
  return spanContext ? [{ context: spanContext }] : [];
}
