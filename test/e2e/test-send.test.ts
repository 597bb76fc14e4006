import { AttemptTrigger, EndpointService, ErrorClass, HealthWindow } from "@herald/contracts";
import { Webhook } from "@herald/receiver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient } from "./support/clients.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import { type ReceivedRequest, type Receiver, startReceiver } from "./support/receiver.js";
import { type Stack, startStack } from "./support/stack.js";

// Test sends end to end (issue 27 item 4): EndpointService.TestEndpoint over gRPC and Connect JSON as curl
// sends it; routing asks delivery over RabbitMQ, delivery sends a signed request marked as a test to a
// real receiver (verified with @herald/receiver), and the attempt comes back with the receiver's headers
// and body, and is in the attempt log with trigger TEST without counting in the endpoint's health.
// Refused connections, timeouts, a URL blocked by delivery's policy and delivery being down are each
// answered as such; bad input is refused with the API's codes.

let stack: Stack;
let shop: TestTenant;
let rival: TestTenant;
let receiver: Receiver;
let hanging: Receiver;
const ids = { ok: "", refused: "", hang: "", bare: "" };
let secret = "";
const CREDENTIAL = "Bearer receiver-credential-0123456789";

/** A Connect unary call with a JSON body, as `curl -H 'content-type: application/json' -d …` makes it. */
async function connectJson(
  service: string,
  method: string,
  token: string,
  body: object,
): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const res = await fetch(`${stack.url("routing")}/herald.v1.${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
}

const testJson = (token: string, body: object) => connectJson("EndpointService", "TestEndpoint", token, body);

function headersOf(request: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
}

beforeAll(async () => {
  // Delivery gives up on a receiver after 2 s, so the hanging one answers as a timeout quickly.
  stack = await startStack({ DELIVERY_TIMEOUT_MS: "2000" });
  shop = await createTenant(stack, "shop");
  rival = await createTenant(stack, "rival");
  [receiver, hanging] = await Promise.all([startReceiver(), startReceiver()]);
  receiver.reply = () => ({ status: 200, headers: { "x-receiver": "yes" }, body: "thanks" });
  hanging.reply = () => "hang";
  const created = await connectJson("EventTypeService", "CreateEventType", shop.fullKey, {
    tenantId: shop.id,
    name: "order.created",
    schema: JSON.stringify({
      type: "object",
      required: ["order"],
      properties: { order: { type: "integer" } },
    }),
    examples: ['{"order": 42}'],
    validatePayloads: true,
  });
  expect(created.status).toBe(200);
  await connectJson("EventTypeService", "CreateEventType", shop.fullKey, {
    tenantId: shop.id,
    name: "order.bare",
  });
  const ok = await createEndpoint(shop, receiver.url, {
    eventTypes: ["order.*", "order.created"],
    headers: { authorization: CREDENTIAL },
  });
  ids.ok = ok.id;
  secret = ok.secret;
  // Nothing listens on port 9 of 127.0.0.1: the connection is refused.
  ids.refused = (await createEndpoint(shop, "http://127.0.0.1:9/in", { eventTypes: ["order.created"] })).id;
  ids.hang = (await createEndpoint(shop, hanging.url, { eventTypes: ["order.created"] })).id;
  ids.bare = (await createEndpoint(shop, receiver.url)).id;
}, 90_000);

afterAll(async () => {
  await Promise.all([receiver?.close(), hanging?.close()]);
  await stack?.stop();
});

describe("sending a test event", () => {
  it("over gRPC: the type's example, signed and marked as a test, answered with the receiver's reply", async () => {
    const endpoints = grpcClient(EndpointService, stack.url("routing"), shop.fullKey);
    const before = receiver.requests.length;
    const { attempt } = await endpoints.testEndpoint({ tenantId: shop.id, endpointId: ids.ok });
    expect(attempt).toMatchObject({
      endpointId: ids.ok,
      trigger: AttemptTrigger.TEST,
      success: true,
      responseStatus: 200,
      responseBody: "thanks",
      errorClass: ErrorClass.NONE,
    });
    expect(attempt?.eventId).toMatch(/^evt_test_/);
    expect(attempt?.responseHeaders).toContainEqual(
      expect.objectContaining({ name: "x-receiver", value: "yes" }),
    );

    const request = receiver.requests[before] as ReceivedRequest;
    expect(receiver.requests.length).toBe(before + 1);
    expect(request.headers["webhook-test"]).toBe("true");
    expect(request.headers["webhook-id"]).toBe(attempt?.eventId);
    expect(request.headers["webhook-event-type"]).toBe("order.created");
    expect(request.headers.authorization).toBe(CREDENTIAL);
    // Signed like any delivery: the receiver kit verifies it with the endpoint's secret.
    expect(new Webhook(secret).verify(request.body, headersOf(request))).toEqual({ order: 42 });
  });

  it("over Connect JSON: a given payload, and the answer carries none of the secrets sent", async () => {
    const payload = Buffer.from('{"order": 7}');
    const res = await testJson(shop.fullKey, {
      tenantId: shop.id,
      endpointId: ids.ok,
      eventType: "order.created",
      payload: payload.toString("base64"),
    });
    expect(res.status).toBe(200);
    expect(res.json.attempt).toMatchObject({
      trigger: "ATTEMPT_TRIGGER_TEST",
      success: true,
      responseStatus: 200,
      responseHeaders: expect.arrayContaining([{ name: "x-receiver", value: "yes" }]),
    });
    expect(res.text).not.toContain("receiver-credential");
    expect(res.text).not.toContain(secret.slice(6));
    const request = receiver.requests.at(-1) as ReceivedRequest;
    expect(request.body.equals(payload)).toBe(true);
    expect(new Webhook(secret).verify(request.body, headersOf(request))).toEqual({ order: 7 });
  });

  it("records tests in the attempt log with trigger TEST, outside the endpoint's health", async () => {
    const attempts = await eventually(async () => {
      const { attempts } = await shop.clients.audit.listAttempts({ tenantId: shop.id, endpointId: ids.ok });
      return attempts.length >= 2 ? attempts : undefined;
    });
    expect(attempts.every((a) => a.trigger === AttemptTrigger.TEST && a.success)).toBe(true);
    const { health } = await shop.clients.audit.getEndpointHealth({ tenantId: shop.id, endpointId: ids.ok });
    const hour = health?.windows.find((w) => w.window === HealthWindow.HEALTH_WINDOW_1H);
    expect(hour?.attempts).toBe(0n);
  });

  it("answers a refused connection and a timeout as the attempt's error", async () => {
    const refused = await testJson(shop.fullKey, { tenantId: shop.id, endpointId: ids.refused });
    // Proto3 JSON leaves out false and 0: no success, no response status.
    expect(refused.json.attempt).toMatchObject({ errorClass: "ERROR_CLASS_CONNECTION" });
    expect(refused.json.attempt).not.toHaveProperty("success");
    expect(refused.json.attempt).not.toHaveProperty("responseStatus");
    const late = await testJson(shop.fullKey, { tenantId: shop.id, endpointId: ids.hang });
    expect(late.json.attempt).not.toHaveProperty("success");
    expect(late.json.attempt).toMatchObject({
      errorClass: "ERROR_CLASS_TIMEOUT",
      errorMessage: "the receiver did not answer in time",
    });
  });

  it("refuses bad input with the API's codes before anything is sent", async () => {
    const before = receiver.requests.length;
    const cases: Array<[string, string, object, number, string, RegExp]> = [
      [
        "unknown endpoint",
        shop.fullKey,
        { tenantId: shop.id, endpointId: "ep_nope" },
        404,
        "not_found",
        /ep_nope/,
      ],
      [
        "another tenant's endpoint",
        rival.fullKey,
        { tenantId: shop.id, endpointId: ids.ok },
        403,
        "permission_denied",
        /tenant/,
      ],
      [
        "no type named for an endpoint of all types",
        shop.fullKey,
        { tenantId: shop.id, endpointId: ids.bare },
        400,
        "invalid_argument",
        /event_type: required/,
      ],
      [
        "a type without example and no payload",
        shop.fullKey,
        { tenantId: shop.id, endpointId: ids.ok, eventType: "order.bare" },
        400,
        "failed_precondition",
        /no example.*--payload/,
      ],
      [
        "a payload failing the type's schema",
        shop.fullKey,
        { tenantId: shop.id, endpointId: ids.ok, payload: Buffer.from('{"order":"x"}').toString("base64") },
        400,
        "invalid_argument",
        /fails the schema of event type "order.created"/,
      ],
      [
        "an oversize payload",
        shop.fullKey,
        {
          tenantId: shop.id,
          endpointId: ids.ok,
          eventType: "order.other",
          payload: Buffer.from(`"${"x".repeat(300 * 1024)}"`).toString("base64"),
        },
        400,
        "invalid_argument",
        /over this tenant's limit/,
      ],
    ];
    for (const [what, token, body, status, code, message] of cases) {
      const res = await testJson(token, body);
      expect(res.status, what).toBe(status);
      expect(res.json.code, what).toBe(code);
      expect(String(res.json.message), what).toMatch(message);
    }
    expect(receiver.requests.length).toBe(before);
  });

  it("answers BLOCKED when delivery's URL policy refuses the address, UNAVAILABLE when delivery is down", async () => {
    // The operator narrowed delivery's allowlist since the endpoint was created.
    await stack.kill("delivery");
    await stack.restart("delivery", { HERALD_URL_ALLOWLIST: "::1/128" });
    const blocked = await eventually(async () => {
      const res = await testJson(shop.fullKey, { tenantId: shop.id, endpointId: ids.ok });
      return res.status === 200 ? res : undefined;
    });
    expect(blocked.json.attempt).toMatchObject({ errorClass: "ERROR_CLASS_BLOCKED" });
    expect(blocked.json.attempt).not.toHaveProperty("success");
    expect(String((blocked.json.attempt as { errorMessage: string }).errorMessage)).toMatch(
      /127\.0\.0\.1 is not allowed/,
    );

    await stack.kill("delivery");
    const down = await testJson(shop.fullKey, { tenantId: shop.id, endpointId: ids.ok });
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({ code: "unavailable" });
    expect(String(down.json.message)).toMatch(/no delivery instance is running/);
  });
});
