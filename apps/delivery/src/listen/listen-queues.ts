import { create } from "@bufbuild/protobuf";
import {
  type DeliveryTask,
  DeliveryTaskSchema,
  type ReportDeliveryRequest,
  ReportDeliveryRequestSchema,
} from "@herald/contracts";
import { consumeProto, type ProtoPublisher, type TopologyNames } from "@herald/platform";
import { listenQueueArguments, listenQueueName } from "@herald/platform/model";
import type { Logger } from "pino";
import type { Connection, Consumer } from "rabbitmq-client";

/** Options of {@link ListenQueues}. */
export interface ListenQueuesOptions {
  rabbit: Connection;
  publisher: ProtoPublisher;
  names: TopologyNames;
  logger: Logger;
  /** A listen endpoint's queue unused (no stream, no task relayed) this long is deleted by RabbitMQ. */
  expiryMs: number;
}

/** How long a queue declared by this instance is taken to exist without declaring it again. */
const DECLARED_FOR_MS = 60_000;
/** Endpoints whose declaration is remembered at most; beyond, the memory starts over. */
const MAX_REMEMBERED = 10_000;

/**
 * The RabbitMQ side of `herald listen`: each listen endpoint's queue, where delivery relays its tasks
 * and from which the instance holding its stream takes them, and each instance's queue of reports
 * relayed from the others.
 */
export class ListenQueues {
  readonly #options: ListenQueuesOptions;
  /** When each endpoint's queue was last declared here, in ms since the epoch. */
  readonly #declared = new Map<string, number>();
  /** Queues found declared with other arguments, already logged (once per queue and instance). */
  readonly #kept = new Set<string>();

  constructor(options: ListenQueuesOptions) {
    this.#options = options;
  }

  /** Puts a task in its listen endpoint's queue; resolves once RabbitMQ confirmed it. */
  async relay(task: DeliveryTask): Promise<void> {
    const queue = await this.#declare(task.endpointId);
    // Alone in its message: its trace goes on in the message's headers, not a batch's field.
    const alone = create(DeliveryTaskSchema, { ...task, traceContext: {} });
    await this.#options.publisher.publish(
      { exchange: "", routingKey: queue, messageId: task.eventId },
      DeliveryTaskSchema,
      alone,
    );
  }

  /**
   * Consumes the endpoint's queue, `concurrency` tasks at once; `handle` resolving acks a task, throwing
   * puts it back. The queue has a single active consumer, so a second stream's consumer waits.
   */
  async consume(
    endpointId: string,
    concurrency: number,
    handle: (task: DeliveryTask) => Promise<void>,
  ): Promise<Consumer> {
    const queue = await this.#declare(endpointId, true);
    return consumeProto(this.#options.rabbit, {
      names: this.#options.names,
      queue,
      schema: DeliveryTaskSchema,
      concurrency,
      prefetch: concurrency,
      // Declared above, whatever its arguments: the consumer only checks it is there (again on reconnects).
      queueOptions: { passive: true },
      logger: this.#options.logger,
      handler: (task) => handle(task),
    });
  }

  /** Consumes this instance's queue of reports relayed by other instances (deleted with the instance). */
  consumeReports(instanceId: string, handle: (report: ReportDeliveryRequest) => Promise<void>): Consumer {
    return consumeProto(this.#options.rabbit, {
      names: this.#options.names,
      queue: this.#options.names.listenReportQueue(instanceId),
      schema: ReportDeliveryRequestSchema,
      concurrency: 16,
      queueOptions: { durable: false, exclusive: true, autoDelete: true, arguments: {} },
      logger: this.#options.logger,
      handler: (report) => handle(report),
    });
  }

  /** Relays a report to the instance awaiting it; a report for an instance gone is dropped by RabbitMQ. */
  async relayReport(instanceId: string, report: ReportDeliveryRequest): Promise<void> {
    await this.#options.publisher.publish(
      { exchange: "", routingKey: this.#options.names.listenReportQueue(instanceId) },
      ReportDeliveryRequestSchema,
      report,
    );
  }

  /**
   * Deletes the endpoint's queue and the tasks waiting in it, once the endpoint is deleted (their tasks
   * would end DEAD anyway). A queue that does not exist is no error: RabbitMQ answers delete-ok.
   */
  async delete(endpointId: string): Promise<void> {
    const queue = listenQueueName(this.#options.names, endpointId);
    this.#declared.delete(endpointId);
    this.#kept.delete(queue);
    await this.#options.rabbit.queueDelete({ queue });
  }

  /** Declares the endpoint's queue (again, when `force` or when last declared long ago); its name. */
  async #declare(endpointId: string, force = false): Promise<string> {
    const queue = listenQueueName(this.#options.names, endpointId);
    const now = Date.now();
    const last = this.#declared.get(endpointId);
    if (force || last === undefined || now - last > DECLARED_FOR_MS) {
      try {
        await this.#options.rabbit.queueDeclare({
          queue,
          durable: true,
          arguments: listenQueueArguments(this.#options.expiryMs),
        });
      } catch (err) {
        // Declared under another LISTEN_SESSION_EXPIRY, or before listen queues expired at all: RabbitMQ
        // refuses other arguments for an existing queue (406), and deleting it would lose its tasks, so it
        // is used as it is, with its old expiry or none, until it is deleted with its endpoint.
        if ((err as { code?: unknown }).code !== "PRECONDITION_FAILED") throw err;
        await this.#options.rabbit.queueDeclare({ queue, passive: true });
        if (!this.#kept.has(queue)) {
          if (this.#kept.size >= MAX_REMEMBERED) this.#kept.clear();
          this.#kept.add(queue);
          this.#options.logger.warn(
            { queue, expiryMs: this.#options.expiryMs },
            "listen queue declared earlier with other arguments: it keeps its old expiry (or none) until its endpoint is deleted",
          );
        }
      }
      if (this.#declared.size >= MAX_REMEMBERED) this.#declared.clear();
      this.#declared.set(endpointId, now);
    }
    return queue;
  }
}
