import { Code } from "@connectrpc/connect";
import { Scope } from "@herald/contracts";
import { Collections, OPERATIONAL_EVENT_TYPE_NAMES } from "@herald/platform/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePageToken } from "./pagination.js";
import { type ControlPlaneClients, failure, RoutingUnderTest } from "./routing.test-support.js";

// EventTypeService against FerretDB: the catalog's life cycle, its bad inputs (each refused with nothing
// written), and who may read and change it.

let routing: RoutingUnderTest;
let admin: ControlPlaneClients;
const T = "catalog-t";
const OTHER = "catalog-u";

const ORDER_SCHEMA = JSON.stringify({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["id"],
  properties: { id: { type: "integer" }, total: { $ref: "#/$defs/money" } },
  $defs: { money: { type: "number", minimum: 0 } },
});

beforeAll(async () => {
  routing = await RoutingUnderTest.start();
  admin = routing.admin("grpc");
  for (const tenantId of [T, OTHER]) await admin.tenants.createTenant({ tenantId, name: tenantId });
});

afterAll(async () => {
  await routing?.stop();
});

/** The tenant's own types among those listed, by name: Herald's built-in "herald.*" ones left out. */
function own(types: Array<{ name: string }>): string[] {
  return types.map((t) => t.name).filter((name) => !name.startsWith("herald."));
}

const builtInCount = OPERATIONAL_EVENT_TYPE_NAMES.length;

async function storedCount(): Promise<number> {
  return (await routing.db()).collection(Collections.eventTypes).countDocuments({});
}

describe("EventTypeService", () => {
  it("creates, reads, lists, updates and archives a type", async () => {
    const { eventType } = await admin.eventTypes.createEventType({
      tenantId: T,
      name: "order.created",
      description: "An order was placed",
      schema: ORDER_SCHEMA,
      examples: ['{"id": 1, "total": 9.5}'],
      validatePayloads: true,
    });
    expect(eventType).toMatchObject({
      tenantId: T,
      name: "order.created",
      schemaVersion: 1,
      validatePayloads: true,
      archived: false,
      deprecated: false,
    });
    const stored = await (await routing.db())
      .collection(Collections.eventTypes)
      .findOne({ _id: `${T}:order.created` } as never);
    expect(stored).toMatchObject({ tenant_id: T, schema: ORDER_SCHEMA });

    const read = await routing.admin().eventTypes.getEventType({ tenantId: T, name: "order.created" });
    expect(read.eventType?.examples).toEqual(['{"id": 1, "total": 9.5}']);

    await admin.eventTypes.createEventType({ tenantId: T, name: "order.shipped" });
    await admin.eventTypes.createEventType({ tenantId: OTHER, name: "order.created" });
    // Herald's built-in operational types ("herald.*") sort first.
    const page1 = await admin.eventTypes.listEventTypes({ tenantId: T, pageSize: builtInCount + 1 });
    expect(page1.eventTypes.map((t) => t.name)).toEqual([...OPERATIONAL_EVENT_TYPE_NAMES, "order.created"]);
    const page2 = await admin.eventTypes.listEventTypes({ tenantId: T, pageToken: page1.nextPageToken });
    expect(page2.eventTypes.map((t) => t.name)).toEqual(["order.shipped"]);
    expect(page2.nextPageToken).toBe("");

    const updated = await admin.eventTypes.updateEventType({
      tenantId: T,
      name: "order.created",
      schema: JSON.stringify({ type: "object", required: ["id", "total"] }),
      examples: { items: ['{"id": 2, "total": 1}'] },
      deprecated: true,
    });
    expect(updated.eventType).toMatchObject({
      schemaVersion: 2,
      deprecated: true,
      description: "An order was placed",
    });
    const renamed = await admin.eventTypes.updateEventType({
      tenantId: T,
      name: "order.created",
      description: "x",
    });
    expect(renamed.eventType?.schemaVersion).toBe(2);

    const archived = await admin.eventTypes.archiveEventType({ tenantId: T, name: "order.shipped" });
    expect(archived.eventType?.archived).toBe(true);
    expect(own((await admin.eventTypes.listEventTypes({ tenantId: T })).eventTypes)).toEqual([
      "order.created",
    ]);
    const all = await admin.eventTypes.listEventTypes({ tenantId: T, includeArchived: true });
    expect(own(all.eventTypes)).toEqual(["order.created", "order.shipped"]);
    const restored = await admin.eventTypes.updateEventType({
      tenantId: T,
      name: "order.shipped",
      archived: false,
    });
    expect(restored.eventType?.archived).toBe(false);
  });

  it("keeps page tokens within the caller's tenant", async () => {
    const foreign = encodePageToken("a");
    const { eventTypes } = await admin.eventTypes.listEventTypes({ tenantId: OTHER, pageToken: foreign });
    expect(eventTypes.every((t) => t.tenantId === OTHER)).toBe(true);
    expect(own(eventTypes)).toEqual(["order.created"]);
  });

  it("lists Herald's operational types as built-in entries with their schemas, and refuses changing them", async () => {
    const first = await admin.eventTypes.listEventTypes({ tenantId: T, pageSize: 2 });
    expect(first.eventTypes.map((t) => t.name)).toEqual(OPERATIONAL_EVENT_TYPE_NAMES.slice(0, 2));
    const rest = await admin.eventTypes.listEventTypes({ tenantId: T, pageToken: first.nextPageToken });
    expect(rest.eventTypes.map((t) => t.name).slice(0, builtInCount - 2)).toEqual(
      OPERATIONAL_EVENT_TYPE_NAMES.slice(2),
    );

    const { eventType } = await admin.eventTypes.getEventType({
      tenantId: T,
      name: "herald.endpoint.disabled",
    });
    expect(eventType?.tenantId).toBe(T);
    expect(eventType?.description).toMatch(/^Built in/);
    const schema = JSON.parse(eventType?.schema ?? "{}");
    expect(schema.properties.reason).toEqual({ enum: ["gone", "failing"] });
    expect(schema.required).toContain("endpoint_id");
    expect(eventType?.examples).toHaveLength(1);

    for (const change of [
      () => admin.eventTypes.createEventType({ tenantId: T, name: "herald.endpoint.mine" }),
      () =>
        admin.eventTypes.updateEventType({ tenantId: T, name: "herald.endpoint.disabled", description: "x" }),
      () => admin.eventTypes.archiveEventType({ tenantId: T, name: "herald.endpoint.disabled" }),
    ]) {
      const err = await failure(change());
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^name: "herald\.\*" is reserved for Herald's operational events/);
    }
    // Nothing was stored under the reserved names.
    const stored = await (await routing.db())
      .collection(Collections.eventTypes)
      .countDocuments({ name: /^herald\./ } as never);
    expect(stored).toBe(0);
  });

  const bad: Array<[string, Record<string, unknown>, Code, RegExp]> = [
    ["a name with a wildcard", { name: "order.*" }, Code.InvalidArgument, /^name: must be 1-128 lower-case/],
    [
      "a schema that is not JSON",
      { schema: "{type: object}" },
      Code.InvalidArgument,
      /^schema: is not valid JSON/,
    ],
    [
      "a schema that is not a schema",
      { schema: '{"type": 5}' },
      Code.InvalidArgument,
      /^schema: is not a valid JSON Schema \(draft 2020-12\)/,
    ],
    [
      "a schema of another draft",
      { schema: '{"$schema": "http://json-schema.org/draft-04/schema#"}' },
      Code.InvalidArgument,
      /Herald checks draft 2020-12 only/,
    ],
    [
      "a schema with a remote $ref",
      { schema: '{"properties": {"a": {"$ref": "https://evil.example/s.json"}}}' },
      Code.InvalidArgument,
      /points outside the schema; Herald fetches nothing/,
    ],
    [
      "a schema over 32 KiB",
      { schema: JSON.stringify({ description: "x".repeat(40_000) }) },
      Code.InvalidArgument,
      /^schema: is \d+ bytes long; at most 32768 \(32 KiB\)/,
    ],
    [
      "a schema nested too deep",
      { schema: `${'{"items":'.repeat(40)}{}${"}".repeat(40)}` },
      Code.InvalidArgument,
      /nested more than 32 levels deep/,
    ],
    [
      "an example failing the schema",
      { schema: ORDER_SCHEMA, examples: ['{"id": 1}', '{"id": "one"}'] },
      Code.InvalidArgument,
      /^examples\[1\]: fails the schema at "\/id": must be integer \(rule "type" at #\/properties\/id\/type\)/,
    ],
    [
      "an example that is not JSON",
      { examples: ["nope"] },
      Code.InvalidArgument,
      /^examples\[0\]: is not valid JSON/,
    ],
    [
      "payload validation without a schema",
      { validatePayloads: true },
      Code.InvalidArgument,
      /^validate_payloads: needs a schema/,
    ],
    ["an unknown tenant", { tenantId: "nobody" }, Code.NotFound, /tenant "nobody" not found/],
  ];

  it.each(bad)("refuses %s, writing nothing", async (_, fields, code, message) => {
    const before = await storedCount();
    const err = await failure(admin.eventTypes.createEventType({ tenantId: T, name: "bad.type", ...fields }));
    expect(Code[err.code]).toBe(Code[code]);
    expect(err.rawMessage).toMatch(message);
    expect(await storedCount()).toBe(before);
  });

  it("refuses a name taken, and an update whose stored examples fail the new schema", async () => {
    const taken = await failure(admin.eventTypes.createEventType({ tenantId: T, name: "order.created" }));
    expect(Code[taken.code]).toBe("AlreadyExists");
    const err = await failure(
      admin.eventTypes.updateEventType({ tenantId: T, name: "order.created", schema: '{"type": "string"}' }),
    );
    expect(Code[err.code]).toBe("InvalidArgument");
    expect(err.rawMessage).toMatch(
      /^schema: the stored examples\[0\]: fails the schema .*send examples that pass/,
    );
    const { eventType } = await admin.eventTypes.getEventType({ tenantId: T, name: "order.created" });
    expect(eventType?.schemaVersion).toBe(2);
    const missing = await failure(admin.eventTypes.getEventType({ tenantId: T, name: "no.such" }));
    expect(Code[missing.code]).toBe("NotFound");
  });

  it("lets any key of the tenant read, and only endpoints:manage keys change", async () => {
    const { token } = await admin.apiKeys.createApiKey({
      name: "publisher",
      tenantId: T,
      scopes: [Scope.EVENTS_PUBLISH],
    });
    const publisher = routing.as(token);
    expect((await publisher.eventTypes.listEventTypes({ tenantId: T })).eventTypes.length).toBeGreaterThan(0);
    const err = await failure(publisher.eventTypes.createEventType({ tenantId: T, name: "x.y" }));
    expect(Code[err.code]).toBe("PermissionDenied");
    const other = await failure(
      publisher.eventTypes.getEventType({ tenantId: OTHER, name: "order.created" }),
    );
    expect(Code[other.code]).toBe("PermissionDenied");
  });

  it("takes tenant settings for unknown types and validation", async () => {
    const { tenant } = await admin.tenants.updateTenant({
      tenantId: OTHER,
      settings: { refuseUnknownEventTypes: true, validatePayloads: true },
    });
    expect(tenant?.settings).toMatchObject({ refuseUnknownEventTypes: true, validatePayloads: true });
  });

  it("goes with its tenant", async () => {
    await admin.tenants.deleteTenant({ tenantId: OTHER });
    const left = await (await routing.db())
      .collection(Collections.eventTypes)
      .find({ tenant_id: OTHER })
      .toArray();
    expect(left).toEqual([]);
  });
});
