import { create, toJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { DisabledReason, EndpointSchema, EndpointTransport, Scope } from "@herald/contracts";
import { type EndpointDocument, endpointHeaders, HEADER_VALUE_MASK, SecretBox } from "@herald/platform/model";
import { TEST_SECRET_KEYS } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { msToDuration } from "./fields.js";
import { type ControlPlaneClients, failure, RoutingUnderTest, statusOf } from "./routing.test-support.js";

let routing: RoutingUnderTest;
/** A key of tenant "shop" with endpoints:manage, over gRPC. */
let shop: ControlPlaneClients;
const tenantId = "shop";
const url = "http://127.0.0.1:8080/hooks";

beforeAll(async () => {
  routing = await RoutingUnderTest.start();
  const admin = routing.admin("grpc");
  await admin.tenants.createTenant({ tenantId, name: "Shop" });
  const { token } = await admin.apiKeys.createApiKey({
    name: "manager",
    tenantId,
    scopes: [Scope.ENDPOINTS_MANAGE],
  });
  shop = routing.as(token, "grpc");
});

afterAll(async () => {
  await routing?.stop();
});

async function storedEndpoint(id: string): Promise<EndpointDocument | null> {
  return (await routing.db()).collection<EndpointDocument>("endpoints").findOne({ _id: id });
}

describe("EndpointService", () => {
  it("creates an endpoint with every field, showing secret metadata only", async () => {
    const { endpoint } = await shop.endpoints.createEndpoint({
      tenantId,
      url,
      description: "Orders to the warehouse",
      eventTypes: ["order.*", "invoice.paid"],
      channels: ["eu", "gold"],
      headers: { Authorization: "Bearer receiver-token", "X-Shop": "1" },
      rateLimitPerSecond: 20,
      maxConcurrency: 4,
      retrySchedule: { delays: [msToDuration(1_000), msToDuration(30_000)] },
    });
    expect(endpoint).toMatchObject({
      tenantId,
      url,
      description: "Orders to the warehouse",
      eventTypes: ["order.*", "invoice.paid"],
      channels: ["eu", "gold"],
      // Header values are write-only: reads show the names.
      headers: { Authorization: HEADER_VALUE_MASK, "X-Shop": HEADER_VALUE_MASK },
      rateLimitPerSecond: 20,
      maxConcurrency: 4,
      disabled: false,
      disabledReason: DisabledReason.UNSPECIFIED,
    });
    expect(endpoint?.id).toMatch(/^ep_[0-9a-f]{20}$/);
    expect(endpoint?.retrySchedule?.delays.map((d) => Number(d.seconds))).toEqual([1, 30]);
    expect(endpoint?.secrets).toHaveLength(1);
    expect(endpoint?.secrets[0]?.id).toMatch(/^sec_/);
    expect(endpoint?.secrets[0]?.expireTime).toBeUndefined();
    expect(toJsonString(EndpointSchema, endpoint ?? create(EndpointSchema))).not.toContain("whsec_");

    const stored = await storedEndpoint(endpoint?.id ?? "");
    expect(stored).toMatchObject({
      tenant_id: tenantId,
      event_types: ["order.*", "invoice.paid"],
      retry_schedule_ms: [1_000, 30_000],
      disabled: false,
      disabled_reason: 0,
      headers: {},
    });
    // Sealed at rest: no value is in the stored document, only the names, and it opens.
    expect(JSON.stringify(stored)).not.toContain("receiver-token");
    expect(stored?.header_names).toEqual(["Authorization", "X-Shop"]);
    expect(endpointHeaders(stored as EndpointDocument, new SecretBox(TEST_SECRET_KEYS))).toEqual({
      Authorization: "Bearer receiver-token",
      "X-Shop": "1",
    });
  });

  it("keeps a header's stored value when an update sends back its mask, and refuses a mask for an unknown header", async () => {
    const { endpoint: created } = await shop.endpoints.createEndpoint({
      tenantId,
      url,
      headers: { Authorization: "Bearer kept-token", "X-Old": "1" },
    });
    const endpointId = created?.id ?? "";
    const { endpoint } = await shop.endpoints.updateEndpoint({
      tenantId,
      endpointId,
      headers: { entries: { authorization: HEADER_VALUE_MASK, "X-New": "2" } },
    });
    expect(endpoint?.headers).toEqual({ authorization: HEADER_VALUE_MASK, "X-New": HEADER_VALUE_MASK });
    const stored = (await storedEndpoint(endpointId)) as EndpointDocument;
    expect(JSON.stringify(stored)).not.toContain("kept-token");
    expect(endpointHeaders(stored, new SecretBox(TEST_SECRET_KEYS))).toEqual({
      authorization: "Bearer kept-token",
      "X-New": "2",
    });

    const unknown = await failure(
      shop.endpoints.updateEndpoint({
        tenantId,
        endpointId,
        headers: { entries: { "X-Gone": HEADER_VALUE_MASK } },
      }),
    );
    expect([unknown.code, unknown.rawMessage]).toEqual([
      Code.InvalidArgument,
      'headers.entries["X-Gone"]: "[sealed]" stands for the stored value, and the endpoint has no such header; send the value itself',
    ]);
    const onCreate = await failure(
      shop.endpoints.createEndpoint({ tenantId, url, headers: { "X-New": HEADER_VALUE_MASK } }),
    );
    expect(onCreate.code).toBe(Code.InvalidArgument);
    // Refused calls changed nothing.
    expect(
      endpointHeaders(
        (await storedEndpoint(endpointId)) as EndpointDocument,
        new SecretBox(TEST_SECRET_KEYS),
      ),
    ).toEqual({
      authorization: "Bearer kept-token",
      "X-New": "2",
    });
  });

  it("still sends and shows headers stored in clear by an earlier version", async () => {
    const { endpoint: created } = await shop.endpoints.createEndpoint({ tenantId, url });
    const endpointId = created?.id ?? "";
    const db = await routing.db();
    await db
      .collection<EndpointDocument>("endpoints")
      .updateOne(
        { _id: endpointId },
        { $set: { headers: { "X-Legacy": "clear" } }, $unset: { sealed_headers: "" } },
      );
    const { endpoint } = await shop.endpoints.getEndpoint({ tenantId, endpointId });
    expect(endpoint?.headers).toEqual({ "X-Legacy": HEADER_VALUE_MASK });
    const { endpoint: updated } = await shop.endpoints.updateEndpoint({
      tenantId,
      endpointId,
      headers: { entries: { "X-Legacy": HEADER_VALUE_MASK } },
    });
    expect(updated?.headers).toEqual({ "X-Legacy": HEADER_VALUE_MASK });
    const stored = (await storedEndpoint(endpointId)) as EndpointDocument;
    expect(stored.headers).toEqual({});
    expect(endpointHeaders(stored, new SecretBox(TEST_SECRET_KEYS))).toEqual({ "X-Legacy": "clear" });
  });

  it("refuses an endpoint for an unknown tenant with NOT_FOUND, after the permission check", async () => {
    const admin = routing.admin("grpc");
    const err = await failure(admin.endpoints.createEndpoint({ tenantId: "ghost", url }));
    expect([err.code, err.rawMessage]).toEqual([Code.NotFound, 'tenant "ghost" not found']);
    expect(await statusOf(shop.endpoints.createEndpoint({ tenantId: "ghost", url }))).toBe(
      "PermissionDenied",
    );
  });

  it.each([
    ["url", { url: "" }, "url: required"],
    [
      "url",
      { url: "https://10.0.0.5/hook" },
      'url: host "10.0.0.5" is a private address; Herald only delivers to public addresses (operators can allow it with HERALD_URL_ALLOWLIST)',
    ],
    [
      "url",
      { url: "http://169.254.169.254/latest/meta-data" },
      'url: host "169.254.169.254" is the cloud metadata',
    ],
    ["url", { url: "http://[::ffff:a00:1]/" }, 'url: host "::ffff:a00:1" is a private address'],
    ["url", { url: "https://user:pass@example.com/" }, "url: must not contain credentials"],
    ["url", { url: "gopher://example.com/" }, 'url: scheme "gopher" is not supported'],
    [
      "event_types[2]",
      { eventTypes: ["a", "b.*", "Bad Type"] },
      'event_types[2]: "Bad Type" is not an event type',
    ],
    ["channels[0]", { channels: ["no spaces"] }, "channels[0]: "],
    ["headers", { headers: { Host: "evil" } }, 'headers["Host"]: may not be set'],
    [
      "headers",
      { headers: { "Webhook-Signature": "v1,forged" } },
      'headers["Webhook-Signature"]: may not be set',
    ],
    ["headers", { headers: { "X-A": "a\r\nInjected: 1" } }, 'headers["X-A"]: value must not contain CR, LF'],
    ["description", { description: "d".repeat(501) }, "description: is 501 characters long"],
    [
      "rate_limit_per_second",
      { rateLimitPerSecond: 10_001 },
      "rate_limit_per_second: must be between 0 and 10000",
    ],
    ["max_concurrency", { maxConcurrency: 1_001 }, "max_concurrency: must be between 0 and 1000"],
    ["retry_schedule", { retrySchedule: { delays: [msToDuration(100)] } }, "retry_schedule.delays[0]: "],
    ["secret", { secret: "whsec_dG9vIHNob3J0" }, "secret: must decode to 24-64 bytes, got 9"],
    ["tenant_id", { tenantId: "" }, "tenant_id: required"],
  ])("refuses a bad %s with INVALID_ARGUMENT naming it", async (_, fields, message) => {
    const err = await failure(routing.admin("grpc").endpoints.createEndpoint({ tenantId, url, ...fields }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage.startsWith(message)).toBe(true);
  });

  it("gets and lists the tenant's endpoints, a page at a time", async () => {
    await routing.admin().tenants.createTenant({ tenantId: "lister", name: "Lister" });
    const admin = routing.admin("grpc");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await admin.endpoints.createEndpoint({ tenantId: "lister", url: `${url}/${i}` })).endpoint?.id ?? "",
      );
    }
    expect(
      (await admin.endpoints.getEndpoint({ tenantId: "lister", endpointId: ids[3] })).endpoint?.url,
    ).toBe(`${url}/3`);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await admin.endpoints.listEndpoints({ tenantId: "lister", pageSize: 2, pageToken });
      expect(page.endpoints.length).toBeLessThanOrEqual(2);
      seen.push(...page.endpoints.map((e) => e.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([...ids].sort());
    expect((await admin.endpoints.listEndpoints({ tenantId: "lister" })).endpoints).toHaveLength(5);
    expect(await statusOf(admin.endpoints.listEndpoints({ tenantId: "lister", pageToken: "x" }))).toBe(
      "InvalidArgument",
    );
    expect(await statusOf(admin.endpoints.getEndpoint({ tenantId: "lister", endpointId: "ep_nope" }))).toBe(
      "NotFound",
    );
    const missingId = await failure(admin.endpoints.getEndpoint({ tenantId: "lister", endpointId: "" }));
    expect(missingId.rawMessage).toBe("endpoint_id: required");
  });

  it("stores, shows, replaces and removes a filter; refuses a bad one with its position", async () => {
    const { endpoint: created } = await shop.endpoints.createEndpoint({
      tenantId,
      url,
      filter: "payload.amount > 100",
    });
    const endpointId = created?.id ?? "";
    expect(created?.filter).toBe("payload.amount > 100");
    expect((await storedEndpoint(endpointId))?.filter).toBe("payload.amount > 100");

    const bad = await failure(
      shop.endpoints.updateEndpoint({ tenantId, endpointId, filter: 'type == "a" &&\n payload.x >' }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toMatch(/^filter: .+ at \d+:\d+$/);
    const nested = await failure(
      routing.admin("connect").endpoints.createEndpoint({
        tenantId,
        url,
        filter: "payload.items.all(x, payload.items.all(y, x == y))",
      }),
    );
    expect(nested.code).toBe(Code.InvalidArgument);
    expect(nested.rawMessage).toMatch(/^filter: a comprehension .* inside another is not allowed at 1:\d+$/);
    // Nothing half-written: the stored filter is the first one.
    expect((await storedEndpoint(endpointId))?.filter).toBe("payload.amount > 100");

    const replaced = await shop.endpoints.updateEndpoint({
      tenantId,
      endpointId,
      filter: "'eu' in channels",
    });
    expect(replaced.endpoint?.filter).toBe("'eu' in channels");
    const removed = await shop.endpoints.updateEndpoint({ tenantId, endpointId, filter: "" });
    expect(removed.endpoint?.filter).toBe("");
    expect(await storedEndpoint(endpointId)).not.toHaveProperty("filter");
  });

  it("updates only the fields present", async () => {
    const { endpoint: created } = await shop.endpoints.createEndpoint({
      tenantId,
      url,
      description: "before",
      eventTypes: ["a"],
      headers: { "X-A": "1" },
      maxConcurrency: 3,
    });
    const endpointId = created?.id ?? "";
    const described = await shop.endpoints.updateEndpoint({ tenantId, endpointId, description: "after" });
    expect(described.endpoint).toMatchObject({
      url,
      description: "after",
      eventTypes: ["a"],
      maxConcurrency: 3,
    });
    const replaced = await shop.endpoints.updateEndpoint({
      tenantId,
      endpointId,
      url: "http://localhost:9000/new",
      eventTypes: { values: [] },
      headers: { entries: { "X-B": "2" } },
      maxConcurrency: 0,
      retrySchedule: { delays: [msToDuration(10_000)] },
    });
    expect(replaced.endpoint).toMatchObject({
      url: "http://localhost:9000/new",
      description: "after",
      eventTypes: [],
      headers: { "X-B": HEADER_VALUE_MASK },
      maxConcurrency: 0,
    });
    expect((await storedEndpoint(endpointId))?.retry_schedule_ms).toEqual([10_000]);
    // Secrets survive updates.
    expect(replaced.endpoint?.secrets.map((s) => s.id)).toEqual(created?.secrets.map((s) => s.id));

    const privateUrl = await failure(
      shop.endpoints.updateEndpoint({ tenantId, endpointId, url: "https://192.168.1.10/" }),
    );
    expect([privateUrl.code, privateUrl.rawMessage.split(";")[0]]).toEqual([
      Code.InvalidArgument,
      'url: host "192.168.1.10" is a private address',
    ]);
    const badFilter = await failure(
      shop.endpoints.updateEndpoint({ tenantId, endpointId, eventTypes: { values: ["ok", "NOT OK"] } }),
    );
    expect(badFilter.rawMessage).toMatch(/^event_types\.values\[1\]: /);
    expect(
      await statusOf(shop.endpoints.updateEndpoint({ tenantId, endpointId: "ep_nope", description: "x" })),
    ).toBe("NotFound");
  });

  it("checks a new endpoint without creating it when asked to validate only", async () => {
    const endpoints = (await routing.db()).collection<EndpointDocument>("endpoints");
    const before = await endpoints.countDocuments({ tenant_id: tenantId });
    expect((await shop.endpoints.createEndpoint({ tenantId, url, validateOnly: true })).endpoint).toBe(
      undefined,
    );
    const privateUrl = await failure(
      shop.endpoints.createEndpoint({ tenantId, url: "https://10.1.2.3/hook", validateOnly: true }),
    );
    expect([privateUrl.code, privateUrl.rawMessage.split(";")[0]]).toEqual([
      Code.InvalidArgument,
      'url: host "10.1.2.3" is a private address',
    ]);
    const noScheme = await failure(
      shop.endpoints.createEndpoint({ tenantId, url: "example.com/hook", validateOnly: true }),
    );
    expect(noScheme.rawMessage).toMatch(/^url: is not an absolute URL/);
    expect(
      await statusOf(shop.endpoints.createEndpoint({ tenantId: "other", url, validateOnly: true })),
    ).toBe("PermissionDenied");
    expect(await endpoints.countDocuments({ tenant_id: tenantId })).toBe(before);
  });

  it("disables manually and enables, clearing the reason and the failure window", async () => {
    const { endpoint } = await shop.endpoints.createEndpoint({ tenantId, url });
    const endpointId = endpoint?.id ?? "";
    const disabled = await shop.endpoints.disableEndpoint({ tenantId, endpointId });
    expect(disabled.endpoint).toMatchObject({ disabled: true, disabledReason: DisabledReason.MANUAL });
    // As the delivery service leaves it after a run of failures.
    await (await routing.db())
      .collection<EndpointDocument>("endpoints")
      .updateOne(
        { _id: endpointId },
        { $set: { disabled_reason: DisabledReason.FAILING, failing_since: new Date(Date.now() - 60_000) } },
      );
    const enabled = await shop.endpoints.enableEndpoint({ tenantId, endpointId });
    expect(enabled.endpoint).toMatchObject({ disabled: false, disabledReason: DisabledReason.UNSPECIFIED });
    const stored = await storedEndpoint(endpointId);
    expect(stored).toMatchObject({ disabled: false, disabled_reason: 0 });
    expect(stored).not.toHaveProperty("failing_since");
    expect(await statusOf(shop.endpoints.disableEndpoint({ tenantId, endpointId: "ep_nope" }))).toBe(
      "NotFound",
    );
    expect(await statusOf(shop.endpoints.enableEndpoint({ tenantId, endpointId: "ep_nope" }))).toBe(
      "NotFound",
    );
  });

  it("deletes an endpoint", async () => {
    const { endpoint } = await shop.endpoints.createEndpoint({ tenantId, url });
    const endpointId = endpoint?.id ?? "";
    await shop.endpoints.deleteEndpoint({ tenantId, endpointId });
    expect(await statusOf(shop.endpoints.getEndpoint({ tenantId, endpointId }))).toBe("NotFound");
    expect(await storedEndpoint(endpointId)).toBeNull();
    expect(await statusOf(shop.endpoints.deleteEndpoint({ tenantId, endpointId }))).toBe("NotFound");
  });

  it("refuses every endpoint call to a key of the tenant without endpoints:manage", async () => {
    const { endpoint } = await shop.endpoints.createEndpoint({ tenantId, url });
    const endpointId = endpoint?.id ?? "";
    const { token } = await routing.admin().apiKeys.createApiKey({
      name: "publisher",
      tenantId,
      scopes: [Scope.EVENTS_PUBLISH, Scope.AUDIT_READ],
    });
    const publisher = routing.as(token, "grpc").endpoints;
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["CreateEndpoint", () => publisher.createEndpoint({ tenantId, url })],
      ["GetEndpoint", () => publisher.getEndpoint({ tenantId, endpointId })],
      ["ListEndpoints", () => publisher.listEndpoints({ tenantId })],
      ["UpdateEndpoint", () => publisher.updateEndpoint({ tenantId, endpointId, description: "x" })],
      ["DeleteEndpoint", () => publisher.deleteEndpoint({ tenantId, endpointId })],
      ["EnableEndpoint", () => publisher.enableEndpoint({ tenantId, endpointId })],
      ["DisableEndpoint", () => publisher.disableEndpoint({ tenantId, endpointId })],
      ["RotateSecret", () => publisher.rotateSecret({ tenantId, endpointId })],
      ["GetEndpointSecret", () => publisher.getEndpointSecret({ tenantId, endpointId })],
    ];
    for (const [name, call] of calls) {
      const err = await failure(call());
      expect([name, err.code, err.rawMessage]).toEqual([
        name,
        Code.PermissionDenied,
        "this API key lacks the endpoints:manage scope",
      ]);
    }
    expect((await shop.endpoints.getEndpoint({ tenantId, endpointId })).endpoint?.disabled).toBe(false);
  });

  it("makes a listen endpoint with a URL of Herald's, owned by the key, and refuses to make one by hand", async () => {
    const { endpoint } = await shop.endpoints.createEndpoint({
      tenantId,
      transport: EndpointTransport.LISTEN,
      eventTypes: ["order.*"],
      filter: "payload.amount > 1",
    });
    const endpointId = endpoint?.id ?? "";
    expect(endpoint).toMatchObject({
      url: `herald-listen://${endpointId}`,
      transport: EndpointTransport.LISTEN,
      eventTypes: ["order.*"],
    });
    const stored = await storedEndpoint(endpointId);
    expect(stored?.listen?.key_id).toMatch(/^[0-9a-f]{18}$/);
    expect(stored?.listen_seen_time).toBeInstanceOf(Date);
    // An HTTP endpoint says so.
    const { endpoint: http } = await shop.endpoints.createEndpoint({ tenantId, url });
    expect(http?.transport).toBe(EndpointTransport.HTTP);
    expect((await storedEndpoint(http?.id ?? ""))?.listen).toBeUndefined();

    const refused = [
      await failure(shop.endpoints.createEndpoint({ tenantId, url, transport: EndpointTransport.LISTEN })),
      await failure(shop.endpoints.createEndpoint({ tenantId, url: `herald-listen://${endpointId}` })),
      await failure(
        shop.endpoints.updateEndpoint({ tenantId, endpointId: http?.id ?? "", url: "herald-listen://x" }),
      ),
      await failure(shop.endpoints.updateEndpoint({ tenantId, endpointId, url })),
      await failure(
        shop.endpoints.createEndpoint({
          tenantId,
          transport: EndpointTransport.LISTEN,
          eventTypes: ["Order.*"],
        }),
      ),
    ];
    expect(refused.map((err) => [err.code, err.rawMessage.split(":")[0]])).toEqual([
      [Code.InvalidArgument, "url"],
      [Code.InvalidArgument, "url"],
      [Code.InvalidArgument, "url"],
      [Code.FailedPrecondition, `endpoint "${endpointId}" is a listen endpoint`],
      [Code.InvalidArgument, "event_types[0]"],
    ]);
    // Its other settings change as for any endpoint.
    const { endpoint: updated } = await shop.endpoints.updateEndpoint({
      tenantId,
      endpointId,
      eventTypes: { values: ["invoice.*"] },
    });
    expect(updated).toMatchObject({ eventTypes: ["invoice.*"], url: `herald-listen://${endpointId}` });
  });
});
