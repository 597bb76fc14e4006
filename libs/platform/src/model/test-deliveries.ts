import {
  type DeliveryTask,
  DeliveryTaskSchema,
  type TestDeliveryReply,
  TestDeliveryReplySchema,
} from "@herald/contracts";
import type { Connection, Consumer } from "rabbitmq-client";
import { ProtoRequestClient, serveProtoRequests } from "../amqp/request-reply.js";
import type { TopologyNames } from "../amqp/topology.js";
import type { Logger } from "../logger.js";

export { NoResponderError, ReplyTimeoutError } from "../amqp/request-reply.js";

// Test deliveries (EndpointService.TestEndpoint): routing asks, by request/reply on delivery.tests,
// whichever delivery instance is free to send one task with trigger TEST now, and waits for the attempt
// (docs/decisions/test-send.md).

/** What asking for a test delivery needs. */
export interface TestDeliveryContext {
  rabbit: Connection;
  names: TopologyNames;
}

/** Asks delivery to send test deliveries and waits for each one's attempt. */
export type TestDeliveryClient = ProtoRequestClient<
  typeof DeliveryTaskSchema,
  typeof TestDeliveryReplySchema
>;

/** A client whose requests wait `timeoutMs` for their reply (and expire in the queue then). */
export function testDeliveryClient(ctx: TestDeliveryContext, timeoutMs: number): TestDeliveryClient {
  return new ProtoRequestClient(ctx.rabbit, {
    queue: ctx.names.queues.deliveryTests,
    request: DeliveryTaskSchema,
    reply: TestDeliveryReplySchema,
    timeoutMs,
  });
}

/** Consumes delivery.tests, answering each test task with `handle`'s reply. */
export function serveTestDeliveries(
  ctx: TestDeliveryContext & { logger: Logger },
  options: { concurrency: number; handle(task: DeliveryTask): Promise<TestDeliveryReply> },
): Consumer {
  return serveProtoRequests(ctx.rabbit, {
    queue: ctx.names.queues.deliveryTests,
    request: DeliveryTaskSchema,
    reply: TestDeliveryReplySchema,
    concurrency: options.concurrency,
    logger: ctx.logger,
    handle: options.handle,
  });
}
