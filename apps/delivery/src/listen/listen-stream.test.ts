import { create } from "@bufbuild/protobuf";
import {
  DeliveryTaskSchema,
  ErrorClass,
  type ListenResponse,
  ReportDeliveryRequestSchema,
} from "@herald/contracts";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebhookRequestError } from "../webhook-client.js";
import {
  checkReport,
  instanceOfDeliveryId,
  ListenStream,
  ListenStreamClosedError,
  newDeliveryId,
  reportedOutcome,
} from "./listen-stream.js";

const task = create(DeliveryTaskSchema, {
  eventId: "evt_1",
  tenantId: "acme",
  endpointId: "ep_1",
  eventType: "order.created",
  attempt: 2,
  payload: new TextEncoder().encode('{"a":1}'),
});
const request = { headers: { "webhook-id": "evt_1" }, body: new TextEncoder().encode('{"a":1}') };

function report(init: Parameters<typeof create<typeof ReportDeliveryRequestSchema>>[1]) {
  return create(ReportDeliveryRequestSchema, { tenantId: "acme", endpointId: "ep_1", ...init });
}

function stream(ids = ["ld_a_1", "ld_a_2", "ld_a_3"]) {
  return new ListenStream({
    tenantId: "acme",
    endpointId: "ep_1",
    keyId: "key1",
    reportTimeoutMs: 5_000,
    heartbeatMs: 1_000,
    deliveryId: () => ids.shift() ?? "ld_none",
  });
}

/** Takes the next message of the stream. */
async function next(messages: AsyncGenerator<ListenResponse>): Promise<ListenResponse | undefined> {
  return (await messages.next()).value ?? undefined;
}

describe("ListenStream", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends ready, then each delivery as the request Herald would POST", async () => {
    const s = stream();
    const messages = s.messages();
    expect((await next(messages))?.message).toMatchObject({
      case: "ready",
      value: { reportTimeout: { seconds: 5n } },
    });
    const answered = s.forward(task, request);
    const delivery = await next(messages);
    expect(delivery?.message).toEqual({
      case: "delivery",
      value: expect.objectContaining({
        deliveryId: "ld_a_1",
        eventId: "evt_1",
        eventType: "order.created",
        attempt: 2,
        headers: request.headers,
        body: request.body,
      }),
    });
    expect(s.report(report({ deliveryId: "ld_a_1", status: 201, body: "ok", latencyMs: 12 }))).toBe(true);
    await expect(answered).resolves.toEqual({ status: 201, headers: {}, body: "ok", latencyMs: 12 });
    expect(s.pending).toBe(0);
    // A second report of the same delivery finds nothing.
    expect(s.report(report({ deliveryId: "ld_a_1", status: 200 }))).toBe(false);
  });

  it("sends a heartbeat after a silence", async () => {
    const s = stream();
    const messages = s.messages();
    await next(messages);
    const beat = next(messages);
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await beat)?.message.case).toBe("heartbeat");
  });

  it("fails a delivery unreported within the timeout as LISTEN_UNREPORTED", async () => {
    const s = stream();
    const answered = s.forward(task, request);
    const outcome = answered.catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(5_000);
    const err = await outcome;
    expect(err).toBeInstanceOf(WebhookRequestError);
    expect((err as WebhookRequestError).errorClass).toBe("listen_unreported");
    // Too late: the report is not taken.
    expect(s.report(report({ deliveryId: "ld_a_1", status: 200 }))).toBe(false);
  });

  it("puts back every delivery awaiting its report when the stream closes, and ends the messages", async () => {
    const s = stream();
    const messages = s.messages();
    await next(messages);
    const first = s.forward(task, request).catch((err: unknown) => err);
    const second = s.forward(task, request).catch((err: unknown) => err);
    s.close();
    expect(await first).toBeInstanceOf(ListenStreamClosedError);
    expect(await second).toBeInstanceOf(ListenStreamClosedError);
    // The deliveries queued before the close still drain, then the stream ends.
    expect((await next(messages))?.message.case).toBe("delivery");
    expect((await next(messages))?.message.case).toBe("delivery");
    expect(await messages.next()).toEqual({ done: true, value: undefined });
    await expect(s.forward(task, request)).rejects.toBeInstanceOf(ListenStreamClosedError);
  });
});

describe("reports", () => {
  it("turns a status into a response and no answer into the request error it reports", () => {
    expect(reportedOutcome(report({ status: 500, body: "x".repeat(5_000), latencyMs: 3 }))).toMatchObject({
      status: 500,
      body: "x".repeat(4096),
    });
    const refused = reportedOutcome(
      report({ errorClass: ErrorClass.CONNECTION, errorMessage: "connect ECONNREFUSED 127.0.0.1:3000" }),
    );
    expect(refused).toBeInstanceOf(WebhookRequestError);
    expect(refused).toMatchObject({
      errorClass: "connection",
      message: "local receiver: connect ECONNREFUSED 127.0.0.1:3000",
    });
    expect(reportedOutcome(report({ errorClass: ErrorClass.TIMEOUT }))).toMatchObject({
      errorClass: "timeout",
    });
  });

  it("refuses statuses that are not HTTP statuses, and error classes that are not about no answer", () => {
    expect(() => checkReport(report({ status: 42 }))).toThrow(/^status: 42 is not an HTTP status/);
    expect(() => checkReport(report({ status: 600 }))).toThrow(/^status: /);
    expect(() => checkReport(report({ errorClass: ErrorClass.BLOCKED }))).toThrow(/^error_class: /);
    expect(() => checkReport(report({ status: 204 }))).not.toThrow();
    expect(() => checkReport(report({ errorClass: ErrorClass.DNS }))).not.toThrow();
  });

  it("names the instance that awaits a delivery in its id", () => {
    const id = newDeliveryId("a1b2c3");
    expect(instanceOfDeliveryId(id)).toBe("a1b2c3");
    expect(instanceOfDeliveryId("ld_x")).toBeUndefined();
    expect(instanceOfDeliveryId("evt_1")).toBeUndefined();
  });
});
