import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  AttemptTrigger,
  type DeliveryTask,
  ErrorClass,
  Scope,
  TestDeliveryReplySchema,
} from "@herald/contracts";
import { createLogger, topologyNames } from "@herald/platform";
import { serveTestDeliveries } from "@herald/platform/model";
import { Connection, type Consumer } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlaneClients, failure, RoutingUnderTest } from "./routing.test-support.js";

// TestEndpoint in routing against a stand-in delivery on delivery.tests (real RabbitMQ and wire
// server): what routing checks and asks for, how the answer comes back over Connect and gRPC, and what a
// caller gets when delivery is down or late. The whole way through the real delivery service:
// test/e2e/test-send.test.ts.
let routing: RoutingUnderTest;
let rabbit: Connection;
let standIn: Consumer | undefined;
let shop: ControlPlaneClients;
let other: ControlPlaneClients;
const asked: DeliveryTask[] = [];
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let endpointId: string;
let otherEndpointId: string;

const ORDER_SCHEMA = JSON.stringify({
  type: "object",
  required: ["id"],
  properties: { id: { type: "integer" } },
});

/** A delivery that answers every test with a 200 attempt, after `delayMs`. */
async function startStandIn(delayMs = 0): Promise<void> {
  standIn = serveTestDeliveries(
    {
      rabbit,
      names: topologyNames(routing.env.AMQP_NAMESPACE),
      logger: createLogger({ service: "test", level: "silent" }),
    },
    {
      concurrency: 4,
      handle: async (task) => {
        asked.push(task);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return create(TestDeliveryReplySchema, {
          outcome: {
            case: "attempt",
            value: {
              id: "att_1",
              tenantId: task.tenantId,
              eventId: task.eventId,
              endpointId: task.endpointId,
              attemptNumber: 1,
              trigger: AttemptTrigger.TEST,
              success: true,
              responseStatus: 200,
              responseBody: "ok",
              latencyMs: 5,
              errorClass: ErrorClass.NONE,
              responseHeaders: [{ name: "x-receiver", value: "yes" }],
            },
          },
        });
      },
    },
  );
  await new Promise((resolve) => standIn?.once("ready", resolve));
}

async function stopStandIn(): Promise<void> {
  await standIn?.close();
  standIn = undefined;
}

beforeAll(async () => {
  routing = await RoutingUnderTest.start({ TEST_SEND_TIMEOUT: "1s" });
  rabbit = new Connection(routing.env.AMQP_URL);
  const admin = routing.admin("grpc");
  await admin.tenants.createTenant({ tenantId: "shop", name: "shop", settings: { maxPayloadBytes: 1024 } });
  await admin.tenants.createTenant({ tenantId: "rival", name: "rival" });
  await admin.eventTypes.createEventType({
    tenantId: "shop",
    name: "order.created",
    schema: ORDER_SCHEMA,
    examples: ['{"id":42}'],
    validatePayloads: true,
  });
  await admin.eventTypes.createEventType({ tenantId: "shop", name: "order.bare" });
  const key = async (tenantId: string) =>
    (await admin.apiKeys.createApiKey({ name: "m", tenantId, scopes: [Scope.ENDPOINTS_MANAGE] })).token;
  shop = routing.as(await key("shop"), "grpc");
  other = routing.as(await key("rival"), "connect");
  endpointId =
    (
      await shop.endpoints.createEndpoint({
        tenantId: "shop",
        url: "http://127.0.0.1:9/in",
        eventTypes: ["order.created"],
      })
    ).endpoint?.id ?? "";
  otherEndpointId =
    (await other.endpoints.createEndpoint({ tenantId: "rival", url: "http://127.0.0.1:9/in" })).endpoint
      ?.id ?? "";
  await startStandIn();
}, 60_000);

afterAll(async () => {
  await stopStandIn();
  await rabbit?.close();
  await routing?.stop();
}, 60_000);

describe("EndpointService.TestEndpoint", () => {
  it("asks delivery for a test of the type's example and answers with its attempt, over gRPC and Connect", async () => {
    const { attempt } = await shop.endpoints.testEndpoint({ tenantId: "shop", endpointId });
    expect(attempt).toMatchObject({ success: true, responseStatus: 200, trigger: AttemptTrigger.TEST });
    expect(attempt?.responseHeaders).toEqual([expect.objectContaining({ name: "x-receiver", value: "yes" })]);
    const task = asked.at(-1) as DeliveryTask;
    // No type named: the endpoint's subscribed one; no payload given: the type's example.
    expect(task).toMatchObject({
      tenantId: "shop",
      endpointId,
      eventType: "order.created",
      trigger: AttemptTrigger.TEST,
    });
    expect(decoder.decode(task.payload)).toBe('{"id":42}');
    expect(task.eventId).toMatch(/^evt_test_/);
    expect(task.replyDeadline).toBeDefined();

    const admin = routing.admin("connect");
    const given = await admin.endpoints.testEndpoint({
      tenantId: "shop",
      endpointId,
      eventType: "order.created",
      payload: encoder.encode('{"id":7}'),
    });
    expect(given.attempt?.success).toBe(true);
    expect(decoder.decode(asked.at(-1)?.payload)).toBe('{"id":7}');
  });

  it("refuses unknown endpoints, other tenants' endpoints, and bad type or payload input", async () => {
    const base = { tenantId: "shop", endpointId };
    const cases: Array<[string, () => Promise<unknown>, Code, RegExp]> = [
      [
        "unknown endpoint",
        () => shop.endpoints.testEndpoint({ ...base, endpointId: "ep_nope" }),
        Code.NotFound,
        /ep_nope/,
      ],
      [
        "another tenant's endpoint, named under one's own tenant",
        () => shop.endpoints.testEndpoint({ ...base, endpointId: otherEndpointId }),
        Code.NotFound,
        /endpoint/,
      ],
      [
        "another tenant",
        () => shop.endpoints.testEndpoint({ tenantId: "rival", endpointId: otherEndpointId }),
        Code.PermissionDenied,
        /rival|tenant/,
      ],
      [
        "a type without example and no payload",
        () => shop.endpoints.testEndpoint({ ...base, eventType: "order.bare" }),
        Code.FailedPrecondition,
        /no example.*--payload/,
      ],
      [
        "a payload failing the schema",
        () => shop.endpoints.testEndpoint({ ...base, payload: encoder.encode('{"id":"x"}') }),
        Code.InvalidArgument,
        /payload: fails the schema of event type "order.created".*must be integer/,
      ],
      [
        "a payload over the tenant's limit",
        () =>
          shop.endpoints.testEndpoint({
            ...base,
            eventType: "other.type",
            payload: encoder.encode(`"${"x".repeat(2000)}"`),
          }),
        Code.InvalidArgument,
        /over this tenant's limit of 1024 bytes/,
      ],
      [
        "a malformed type",
        () => shop.endpoints.testEndpoint({ ...base, eventType: "Order Created" }),
        Code.InvalidArgument,
        /event_type/,
      ],
    ];
    const before = asked.length;
    for (const [what, call, code, message] of cases) {
      const err = await failure(call());
      expect(Code[err.code], what).toBe(Code[code]);
      expect(err.rawMessage, what).toMatch(message);
    }
    // None reached delivery.
    expect(asked.length).toBe(before);
  });

  it("refuses a read-only portal session, and one limited to other endpoints", async () => {
    const admin = routing.admin("connect");
    const session = async (fields: { readOnly?: boolean; endpointIds?: string[] }) => {
      const { code } = await admin.portal.createPortalLink({ tenantId: "shop", ...fields });
      return routing.as((await admin.portal.exchangePortalLink({ code })).token, "connect");
    };
    const readOnly = await failure(
      (await session({ readOnly: true })).endpoints.testEndpoint({ tenantId: "shop", endpointId }),
    );
    expect(Code[readOnly.code]).toBe("PermissionDenied");
    const { endpoint: another } = await shop.endpoints.createEndpoint({
      tenantId: "shop",
      url: "http://127.0.0.1:9/x",
    });
    const limited = await session({ endpointIds: [another?.id ?? ""] });
    const outside = await failure(limited.endpoints.testEndpoint({ tenantId: "shop", endpointId }));
    expect(["PermissionDenied", "NotFound"]).toContain(Code[outside.code]);
  });

  it("answers DEADLINE_EXCEEDED when delivery does not answer in time, UNAVAILABLE when none runs", async () => {
    await stopStandIn();
    await startStandIn(2_000);
    const late = await failure(shop.endpoints.testEndpoint({ tenantId: "shop", endpointId }));
    expect(Code[late.code]).toBe("DeadlineExceeded");
    expect(late.rawMessage).toMatch(/did not answer within 1 s.*herald attempts list/);
    await stopStandIn();

    const down = await failure(shop.endpoints.testEndpoint({ tenantId: "shop", endpointId }));
    expect(Code[down.code]).toBe("Unavailable");
    expect(down.rawMessage).toMatch(/no delivery instance is running/);
  });
});
