import { describe, expect, it, vi } from "vitest";
import {
  compileFilter,
  FilterBindings,
  FilterSyntaxError,
  MAX_FILTER_LENGTH,
  MAX_FILTER_PAYLOAD_BYTES,
  MAX_FILTER_STEPS,
} from "./filter.js";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const event = (payload: Uint8Array, type = "order.created", channels = ["eu"]) =>
  new FilterBindings({ type, channels, tenantId: "t1", payload });

function refusal(source: string): FilterSyntaxError {
  try {
    compileFilter(source);
  } catch (err) {
    if (err instanceof FilterSyntaxError) return err;
    throw err;
  }
  throw new Error(`"${source}" compiled`);
}

describe("compileFilter", () => {
  it("evaluates over type, channels, tenant_id and the JSON payload", () => {
    const filter = compileFilter(
      'type.startsWith("order.") && "eu" in channels && tenant_id == "t1" && payload.amount > 100',
    );
    expect(filter.evaluate(event(json({ amount: 150 })))).toEqual({ match: true });
    expect(filter.evaluate(event(json({ amount: 50 })))).toEqual({ match: false });
    expect(filter.evaluate(event(json({ amount: 150 }), "invoice.paid"))).toEqual({ match: false });
  });

  it("compares JSON numbers with integer literals and reads nested lists", () => {
    const filter = compileFilter('payload.count == 3 && payload.items.exists(i, i.sku == "A")');
    expect(filter.evaluate(event(json({ count: 3, items: [{ sku: "B" }, { sku: "A" }] }))).match).toBe(true);
    expect(filter.evaluate(event(json({ count: 3, items: [{ sku: "B" }] }))).match).toBe(false);
  });

  it("tests fields with has(), on the payload and on a comprehension's variable", () => {
    const filter = compileFilter("has(payload.a.b) && payload.items.all(i, has(i.sku))");
    expect(filter.evaluate(event(json({ a: { b: 1 }, items: [{ sku: "A" }] })))).toEqual({ match: true });
    expect(filter.evaluate(event(json({ a: {}, items: [{ sku: "A" }] })))).toEqual({ match: false });
    expect(filter.evaluate(event(json({ a: { b: 1 }, items: [{ x: 1 }] })))).toEqual({ match: false });
  });

  it("reads JSON objects as CEL maps: keys, size, membership, equality, comprehensions", () => {
    const payload = json({ a: { b: 1, c: [{ d: "x" }] }, n: null, "1": "one" });
    for (const [source, expected] of [
      ['"a" in payload && !("z" in payload) && size(payload) == 3 && size(payload.a) == 2', true],
      ['payload.a == {"b": 1, "c": [{"d": "x"}]}', true],
      ['payload.a == {"b": 2, "c": [{"d": "x"}]}', false],
      ['payload.a.exists(k, k == "c") && payload.a.all(k, k in ["b", "c"])', true],
      ['payload.a.c[0].d == "x" && payload["1"] == "one"', true],
      ["payload.n == null && !has(payload.z)", true],
    ] as const) {
      expect(compileFilter(source).evaluate(event(payload)), source).toEqual({ match: expected });
    }
    // JSON keys are strings: an int key finds nothing.
    expect(compileFilter("payload[1] == 'one'").evaluate(event(payload)).match).toBe(false);
  });

  it("counts an evaluation error (a missing field) as no match, with the error", () => {
    const outcome = compileFilter("payload.customer.tier == 'gold'").evaluate(event(json({ amount: 1 })));
    expect(outcome.match).toBe(false);
    expect(outcome.error).toMatch(/customer/);
  });

  it("binds a payload that is not JSON as null", () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x01]);
    expect(compileFilter("payload == null").evaluate(event(bytes))).toEqual({ match: true });
    expect(compileFilter("payload.a == 1").evaluate(event(bytes)).match).toBe(false);
  });

  it("fails filters that read a payload over the size limit, not the others", () => {
    const big = json({ pad: "x".repeat(MAX_FILTER_PAYLOAD_BYTES) });
    const reading = compileFilter("payload.pad != ''").evaluate(event(big));
    expect(reading.match).toBe(false);
    expect(reading.error).toMatch(/larger than/);
    expect(compileFilter("type == 'order.created'").evaluate(event(big))).toEqual({ match: true });
  });

  it("refuses what does not parse, with the position", () => {
    const err = refusal("type == 'a'\n  && )");
    expect(err.message).toMatch(/^found & but expecting end of input at 2:\d+$/);
    expect(err.line).toBe(2);
  });

  it("refuses unknown variables at their position", () => {
    expect(refusal("type == 'a' && amount > 1").message).toBe(
      'undeclared reference to "amount": use type, channels, tenant_id or payload at 1:16',
    );
  });

  it("refuses expressions that cannot return a bool", () => {
    expect(refusal("payload.amount + 1").message).toMatch(
      /must return a bool, but returns the result of \+ at 1:16/,
    );
    expect(refusal("'yes'").message).toMatch(/must return a bool/);
    expect(refusal("type").message).toMatch(/must return a bool/);
    expect(refusal("payload.items.map(i, i.sku)").message).toMatch(/a list/);
    expect(refusal("true ? 1 : false").message).toMatch(/must return a bool/);
  });

  it("refuses expressions over the length and size limits", () => {
    expect(refusal(`type == '${"a".repeat(MAX_FILTER_LENGTH)}'`).message).toMatch(/at most 1024/);
    const many = Array.from({ length: 101 }, () => "true").join(" || ");
    expect(many.length).toBeLessThan(MAX_FILTER_LENGTH);
    expect(refusal(many).message).toMatch(/too complex: more than 200 terms/);
  });

  it("refuses nested comprehensions and non-literal patterns (hostile costs)", () => {
    expect(refusal("payload.items.all(x, payload.items.all(y, x == y))").message).toMatch(
      /inside another is not allowed at 1:/,
    );
    expect(refusal("payload.items.map(x, payload.items.map(y, y)).size() > 0").message).toMatch(
      /inside another/,
    );
    expect(refusal("payload.s.matches(payload.s)").message).toMatch(/literal pattern/);
  });

  it("refuses a pattern that does not compile, at the pattern", () => {
    const error = refusal('type == "a" || payload.s.matches("(unclosed")');
    expect(error.message).toMatch(/is not a valid pattern: .*unclosed/);
    expect([error.line, error.column]).toEqual([1, 34]);
  });

  it("matches patterns kept compiled across filters and events", () => {
    const sku = compileFilter('payload.sku.matches("^even-[0-9]+$")');
    const either = compileFilter('payload.sku.matches("^even-[0-9]+$") || payload.sku.matches("^x")');
    for (const [value, expected] of [
      ["even-12", true],
      ["odd-3", false],
      ["even-", false],
      ["even-7", true],
    ] as const) {
      expect(sku.evaluate(event(json({ sku: value })))).toEqual({ match: expected });
      expect(either.evaluate(event(json({ sku: value })))).toEqual({ match: expected });
    }
    expect(either.evaluate(event(json({ sku: "xyz" })))).toEqual({ match: true });
  });

  it("parses the payload only for filters that read it, once per event", () => {
    const parse = vi.spyOn(JSON, "parse");
    try {
      const bindings = event(json({ amount: 150 }));
      expect(compileFilter('"eu" in channels').evaluate(bindings)).toEqual({ match: true });
      expect(parse).not.toHaveBeenCalled();
      expect(compileFilter("payload.amount > 100").evaluate(bindings)).toEqual({ match: true });
      expect(compileFilter("payload.amount < 200").evaluate(bindings)).toEqual({ match: true });
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it("stops a comprehension over a big list at the step budget", () => {
    const items = Array.from({ length: 5_000 }, (_, i) => i);
    const outcome = compileFilter("payload.items.all(x, x >= 0)").evaluate(event(json({ items })));
    expect(outcome.match).toBe(false);
    expect(outcome.error).toMatch(new RegExp(`more than ${MAX_FILTER_STEPS} steps`));
    // The budget is per evaluation: a small list right after is fine.
    expect(compileFilter("payload.items.all(x, x >= 0)").evaluate(event(json({ items: [1, 2] })))).toEqual({
      match: true,
    });
  });

  it("stops many membership tests over a big list at the step budget (hostile, not nested)", () => {
    const list = Array.from({ length: 30_000 }, () => 0);
    const hostile = Array.from({ length: 40 }, (_, i) => `${i + 1} in payload.l`).join(" || ");
    const outcome = compileFilter(hostile).evaluate(event(json({ l: list })));
    expect(outcome.match).toBe(false);
    expect(outcome.error).toMatch(/steps/);
    expect(compileFilter("0 in payload.l").evaluate(event(json({ l: [3, 0] })))).toEqual({ match: true });
  });

  it("counts the entries of a map a comprehension ranges over", () => {
    const big = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i]));
    const outcome = compileFilter('payload.m.exists(k, k == "zzz")').evaluate(event(json({ m: big })));
    expect(outcome.error).toMatch(/steps/);
    expect(compileFilter('payload.m.exists(k, k == "a")').evaluate(event(json({ m: { a: 1 } })))).toEqual({
      match: true,
    });
  });
});
