import { create } from "@bufbuild/protobuf";
import { CreateEventTypeRequestSchema, UpdateEventTypeRequestSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { parseEventTypePatch, parseNewEventType } from "./event-type-input.js";
import { problem } from "./input.test-support.js";

const SCHEMA = '{"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}}';

describe("parseNewEventType", () => {
  it("maps a request to the stored fields", () => {
    const req = create(CreateEventTypeRequestSchema, {
      name: "order.created",
      description: "An order",
      schema: SCHEMA,
      examples: ['{"id":1}'],
      validatePayloads: true,
    });
    expect(parseNewEventType(req)).toEqual({
      name: "order.created",
      description: "An order",
      schema: SCHEMA,
      examples: ['{"id":1}'],
      deprecated: false,
      validate_payloads: true,
    });
    // A blank schema is none, and examples are then only checked to be JSON.
    expect(parseNewEventType(create(CreateEventTypeRequestSchema, { name: "a", schema: "  " })).schema).toBe(
      "",
    );
  });

  it.each([
    [{ name: "" }, "name: required"],
    [{ name: "Order.Created" }, /^name: must be 1-128 lower-case letters/],
    [{ name: "a", description: "x".repeat(1_001) }, "description: is 1001 characters long; at most 1000"],
    [{ name: "a", examples: Array(11).fill("{}") }, "examples: has 11 examples; at most 10"],
    [{ name: "a", schema: SCHEMA, examples: ['{"id":"x"}'] }, /^examples\[0\]: fails the schema at "\/id"/],
    [{ name: "a", validatePayloads: true }, "validate_payloads: needs a schema to check payloads against"],
  ])("refuses case %#", (init, message) => {
    const outcome = problem(() => parseNewEventType(create(CreateEventTypeRequestSchema, init)));
    if (typeof message === "string") expect(outcome).toBe(message);
    else expect(outcome).toMatch(message);
  });
});

describe("parseEventTypePatch", () => {
  const stored = { schema: SCHEMA, examples: ['{"id":1}'], validate_payloads: true };
  const patch = (init: object, current = stored) =>
    parseEventTypePatch(create(UpdateEventTypeRequestSchema, { name: "a", ...init }), current);

  it("keeps only the fields present", () => {
    expect(patch({})).toEqual({});
    expect(patch({ deprecated: true, archived: false })).toEqual({ deprecated: true, archived: false });
    expect(patch({ examples: { items: [] } })).toEqual({ examples: [] });
  });

  it("checks examples against the schema they will live with", () => {
    expect(problem(() => patch({ examples: { items: ['{"id":"x"}'] } }))).toMatch(
      /^examples\.items\[0\]: fails the schema/,
    );
    expect(problem(() => patch({ schema: '{"type":"string"}' }))).toMatch(
      /^schema: the stored examples\[0\]: fails the schema/,
    );
    expect(patch({ schema: '{"type":"string"}', examples: { items: ['"ok"'] } })).toEqual({
      schema: '{"type":"string"}',
      examples: ['"ok"'],
    });
  });

  it("refuses removing the schema while payloads are checked", () => {
    expect(problem(() => patch({ schema: "" }))).toBe(
      "validate_payloads: needs a schema to check payloads against",
    );
    expect(patch({ schema: "", validatePayloads: false })).toEqual({ schema: "", validate_payloads: false });
  });
});
