import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { type ControlAck, ControlAckSchema } from "@herald/contracts";
import type { Logger } from "pino";
import type { Connection, Consumer } from "rabbitmq-client";

/** Whose acknowledgements of one notification came in time, by instance id. */
export interface AckOutcome {
  acked: string[];
  /** Expected instances that did not acknowledge before the deadline. */
  missing: string[];
}

/** One wait for acknowledgements, see {@link ControlAcks.expect}. */
export interface AckWait {
  notificationId: string;
  /** Resolves when every expected instance acknowledged, or at the deadline. */
  outcome: Promise<AckOutcome>;
}

/**
 * Collects the acknowledgements ({@link ControlAck}) of control notifications this instance announced.
 * Pure: {@link openAckInbox} feeds it from RabbitMQ, and tests feed it by hand with fake timers.
 */
export class ControlAcks {
  readonly #waits = new Map<string, { expected: Set<string>; acked: Set<string>; done: () => void }>();

  /**
   * Starts waiting for `instances` (ids) to acknowledge a new notification, for at most `waitMs`.
   * `instances` undefined means they are unknown: the wait lasts until the deadline. Call it before
   * announcing the notification, so no early acknowledgement is missed.
   */
  expect(instances: readonly string[] | undefined, waitMs: number): AckWait {
    const notificationId = randomUUID();
    const expected = new Set(instances ?? []);
    const acked = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    const outcome = new Promise<AckOutcome>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waits.delete(notificationId);
        resolve({ acked: [...acked], missing: [...expected].filter((id) => !acked.has(id)) });
      };
      this.#waits.set(notificationId, { expected, acked, done });
      if (instances !== undefined && expected.size === 0) done();
      else timer = setTimeout(done, Math.max(0, waitMs));
    });
    return { notificationId, outcome };
  }

  /** Records one acknowledgement; acknowledgements of unknown or finished waits are ignored. */
  received(ack: Pick<ControlAck, "notificationId" | "instanceId">): void {
    const wait = this.#waits.get(ack.notificationId);
    if (!wait) return;
    wait.acked.add(ack.instanceId);
    if ([...wait.expected].every((id) => wait.acked.has(id)) && wait.expected.size > 0) wait.done();
  }

  /** Notifications still waiting. */
  get waiting(): number {
    return this.#waits.size;
  }
}

/** Where this instance receives acknowledgements: a server-named queue of its own. */
export interface AckInbox {
  acks: ControlAcks;
  /** The queue's current name (it changes when the connection is re-established); "" before ready. */
  readonly queue: string;
  /** Resolves once the queue exists. */
  ready: Promise<void>;
  /** The consumer, stopped with the service. */
  consumer: Consumer;
}

/**
 * Opens this instance's acknowledgement inbox: an exclusive, auto-deleted queue that instances reply to
 * through the default exchange. Acknowledgements are worth nothing after their wait, so they are
 * consumed without acks and never requeued.
 */
export function openAckInbox(rabbit: Connection, logger: Logger): AckInbox {
  const acks = new ControlAcks();
  const consumer = rabbit.createConsumer(
    { queue: "", queueOptions: { exclusive: true, autoDelete: true, durable: false }, noAck: true },
    async (msg) => {
      try {
        acks.received(fromBinary(ControlAckSchema, msg.body as Uint8Array));
      } catch (err) {
        logger.warn({ err }, "undecodable control acknowledgement dropped");
      }
    },
  );
  consumer.on("error", (err) => logger.warn({ err }, "control acknowledgement consumer error"));
  return {
    acks,
    get queue() {
      return consumer.queue ?? "";
    },
    ready: new Promise((resolve) => consumer.once("ready", () => resolve())),
    consumer,
  };
}
