import { create } from "@bufbuild/protobuf";
import { ControlNotificationSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import {
  compileEventSchema,
  describeViolation,
  EventSchemaCache,
  MAX_SCHEMA_BYTES,
  MAX_SCHEMA_DEPTH,
  MAX_SCHEMA_PATTERN,
  MAX_SCHEMA_PATTERNS,
} from "./event-schemas.js";

const ORDER = JSON.stringify({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["id", "total"],
  properties: {
    id: { type: "integer" },
    total: { $ref: "#/$defs/money" },
    email: { type: "string", format: "email" },
    items: {
      type: "array",
      items: { type: "object", properties: { sku: { type: "string", pattern: "^[A-Z]{3}-\\d+$" } } },
    },
  },
  additionalProperties: false,
  $defs: { money: { type: "number", minimum: 0 } },
});

function refusal(text: string): string {
  try {
    compileEventSchema("schema", text);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error("compiled");
}

describe("compileEventSchema", () => {
  const check = compileEventSchema("schema", ORDER);

  it("passes payloads that fit", () => {
    expect(check({ id: 1, total: 9.5, email: "a@example.com", items: [{ sku: "ABC-1" }] })).toBeUndefined();
  });

  it("names the JSON path and the rule of the first violation", () => {
    expect(check({ id: "x", total: 1 })).toMatchObject({
      path: "/id",
      rule: "type",
      message: "must be integer",
    });
    expect(check({ id: 1 })).toMatchObject({ path: "", rule: "required" });
    expect(check({ id: 1, total: -1 })).toMatchObject({ path: "/total", rule: "minimum" });
    expect(check({ id: 1, total: 1, items: [{ sku: "abc" }] })).toMatchObject({
      path: "/items/0/sku",
      rule: "pattern",
    });
    expect(check({ id: 1, total: 1, email: "nope" })).toMatchObject({ path: "/email", rule: "format" });
    const extra = check({ id: 1, total: 1, color: "red" });
    expect(extra).toMatchObject({ path: "", rule: "additionalProperties" });
    expect(describeViolation(extra as never)).toBe(
      'at "/": must NOT have additional properties ("color") (rule "additionalProperties" at #/additionalProperties)',
    );
  });

  it("refuses text that is not JSON, or JSON that is not a schema", () => {
    expect(refusal("{")).toMatch(/^schema: is not valid JSON/);
    expect(refusal("[1]")).toMatch(/must be a JSON Schema: a JSON object/);
    expect(refusal('{"type":"strin"}')).toMatch(/not a valid JSON Schema \(draft 2020-12\): at "\/type"/);
    expect(refusal('{"type":"object","requird":["a"]}')).toMatch(
      /does not compile: strict mode: unknown keyword: "requird"/,
    );
    expect(refusal('{"type":"string","pattern":"("}')).toMatch(/does not compile/);
    expect(refusal('{"type":"string","format":"colour"}')).toMatch(/unknown format "colour"/);
  });

  it("refuses other drafts", () => {
    expect(refusal('{"$schema":"http://json-schema.org/draft-07/schema#","type":"object"}')).toMatch(
      /declares "\$schema": "http:\/\/json-schema.org\/draft-07\/schema#"; Herald checks draft 2020-12 only/,
    );
  });

  it("refuses references outside the schema, and local ones that lead nowhere", () => {
    expect(refusal('{"properties":{"a":{"$ref":"https://example.com/a.json"}}}')).toMatch(
      /\$ref "https:\/\/example.com\/a.json" at #\/properties\/a points outside the schema/,
    );
    expect(refusal('{"$ref":"other.json#/x"}')).toMatch(/points outside the schema/);
    expect(refusal('{"$ref":"#/$defs/missing"}')).toMatch(/does not compile: can't resolve reference/);
  });

  it("bounds size, depth and patterns", () => {
    const big = JSON.stringify({ description: "x".repeat(MAX_SCHEMA_BYTES) });
    expect(refusal(big)).toMatch(/bytes long; at most 32768 \(32 KiB\)/);
    let deep: object = { type: "string" };
    for (let i = 0; i < MAX_SCHEMA_DEPTH; i++) deep = { items: deep };
    expect(refusal(JSON.stringify(deep))).toMatch(/nested more than 32 levels deep/);
    expect(refusal(JSON.stringify({ pattern: "a".repeat(MAX_SCHEMA_PATTERN + 1) }))).toMatch(
      /the pattern at # is 257 characters long; at most 256/,
    );
    expect(
      refusal(JSON.stringify({ patternProperties: { ["b".repeat(MAX_SCHEMA_PATTERN + 1)]: {} } })),
    ).toMatch(/a patternProperties pattern at # is 257 characters long/);
  });

  it("bounds the number of patterns", () => {
    const properties = Object.fromEntries(
      Array.from({ length: MAX_SCHEMA_PATTERNS + 1 }, (_, i) => [`p${i}`, { type: "string", pattern: "^a" }]),
    );
    expect(refusal(JSON.stringify({ properties }))).toMatch(
      /has more than 100 patterns \(the last at #\/properties\/p100\)/,
    );
  });

  it("compiles a $ref used many times once, not once per use", () => {
    const fields = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`f${i}`, { type: "integer", minimum: i }]),
    );
    const uses = Object.fromEntries(
      Array.from({ length: 500 }, (_, i) => [`r${i}`, { $ref: "#/$defs/big" }]),
    );
    // Inlined, this took minutes to compile; the test's own timeout is the bound.
    const check = compileEventSchema(
      "schema",
      JSON.stringify({ $defs: { big: { type: "object", properties: fields } }, properties: uses }),
    );
    expect(check({ r7: { f3: 2 } })).toMatchObject({ path: "/r7/f3", rule: "minimum" });
  });

  it("accepts boolean schemas", () => {
    expect(compileEventSchema("schema", "true")({ any: 1 })).toBeUndefined();
    expect(compileEventSchema("schema", "false")({})).toMatchObject({ rule: "false schema" });
  });
});

describe("EventSchemaCache", () => {
  it("compiles a version once, and again after invalidation or a new version", () => {
    const cache = new EventSchemaCache();
    const first = cache.check("t1", "order.created", 1, ORDER);
    expect(cache.check("t1", "order.created", 1, "{}")).toBe(first);
    expect(cache.check("t1", "order.created", 2, '{"type":"string"}')).not.toBe(first);
    cache.invalidate("t1", "order.created");
    expect(cache.check("t1", "order.created", 1, ORDER)).not.toBe(first);
    expect(cache.check("t2", "order.created", 1, "{}")({ id: "x" })).toBeUndefined();
  });

  it("follows control notifications: a type's, its tenant's, and none for endpoints or keys", () => {
    const cache = new EventSchemaCache();
    const notice = (fields: {
      tenantId: string;
      eventType?: string;
      endpointId?: string;
      apiKeyId?: string;
    }) => cache.onControlChange(create(ControlNotificationSchema, fields));
    const order = cache.check("t1", "order.created", 1, ORDER);
    const other = cache.check("t1", "order.paid", 1, ORDER);
    notice({ tenantId: "t1", endpointId: "ep1" });
    notice({ tenantId: "t1", apiKeyId: "k1" });
    expect(cache.check("t1", "order.created", 1, ORDER)).toBe(order);
    notice({ tenantId: "t1", eventType: "order.created" });
    expect(cache.check("t1", "order.created", 1, ORDER)).not.toBe(order);
    expect(cache.check("t1", "order.paid", 1, ORDER)).toBe(other);
    notice({ tenantId: "t1" });
    expect(cache.check("t1", "order.paid", 1, ORDER)).not.toBe(other);
  });
});

describe("patterns", () => {
  it("run in linear time: a pattern that backtracks exponentially answers at once", () => {
    const check = compileEventSchema("schema", JSON.stringify({ type: "string", pattern: "^(a+)+$" }));
    // A backtracking engine takes longer than the universe's age on this; RE2 takes microseconds.
    expect(check(`${"a".repeat(50_000)}!`)).toMatchObject({ rule: "pattern" });
    expect(check("aaaa")).toBeUndefined();
  });

  it("refuses what RE2 cannot run (lookaround, backreferences), saying so", () => {
    expect(refusal(JSON.stringify({ pattern: "^(?!admin).*$" }))).toBe(
      "schema: does not compile: error parsing regexp: invalid or unsupported Perl syntax: `(?!` (patterns run on RE2, in linear time: no lookahead, lookbehind or backreferences)",
    );
    expect(refusal(JSON.stringify({ pattern: "(a)\\1" }))).toMatch(/^schema: does not compile/);
  });

  it("apply to patternProperties too", () => {
    const check = compileEventSchema(
      "schema",
      JSON.stringify({ type: "object", patternProperties: { "^x-": { type: "string" } } }),
    );
    expect(check({ "x-a": "ok" })).toBeUndefined();
    expect(check({ "x-a": 1 })).toMatchObject({ path: "/x-a", rule: "type" });
  });
});
