// Microbenchmark of ingest's payload check for a typical event type schema: parse the payload's bytes
// as JSON, then run the compiled schema. Not part of `npm run bench`; run it on its own:
//   npx nx run @herald/platform:build && node test/bench/micro/event-schema-check.ts
// Results and the schema bounds: docs/decisions/event-type-schemas.md.
import { compileEventSchema } from "@herald/platform/model";

const SCHEMA = JSON.stringify({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["id", "customer", "lines", "total", "currency", "created_at"],
  additionalProperties: false,
  properties: {
    id: { type: "string", pattern: "^ord_[a-z0-9]{8,32}$" },
    customer: {
      type: "object",
      required: ["id", "email"],
      properties: {
        id: { type: "string" },
        email: { type: "string", format: "email" },
        name: { type: "string", maxLength: 200 },
      },
    },
    lines: {
      type: "array",
      minItems: 1,
      maxItems: 100,
      items: { $ref: "#/$defs/line" },
    },
    total: { type: "number", minimum: 0 },
    currency: { enum: ["EUR", "USD", "GBP"] },
    created_at: { type: "string", format: "date-time" },
    note: { type: ["string", "null"] },
  },
  $defs: {
    line: {
      type: "object",
      required: ["sku", "quantity", "price"],
      properties: {
        sku: { type: "string", minLength: 1, maxLength: 64 },
        quantity: { type: "integer", minimum: 1 },
        price: { type: "number", minimum: 0 },
      },
    },
  },
});

const PAYLOAD = Buffer.from(
  JSON.stringify({
    id: "ord_3f9a1b2c4d",
    customer: { id: "cus_42", email: "ada@example.com", name: "Ada Lovelace" },
    lines: [
      { sku: "BOOK-1", quantity: 1, price: 12.5 },
      { sku: "PEN-7", quantity: 3, price: 1.2 },
      { sku: "MUG-2", quantity: 1, price: 8 },
    ],
    total: 24.1,
    currency: "EUR",
    created_at: "2026-12-06T05:00:00Z",
    note: null,
  }),
);

const utf8 = new TextDecoder("utf-8", { fatal: true });

function timeIt(label: string, iterations: number, fn: () => void): number {
  for (let i = 0; i < 20_000; i++) fn(); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const us = Number(process.hrtime.bigint() - start) / 1_000 / iterations;
  console.log(`${label.padEnd(34)} ${us.toFixed(2)} µs`);
  return us;
}

const compileStart = process.hrtime.bigint();
const check = compileEventSchema("schema", SCHEMA);
console.log(
  `compile (first, cold)               ${(Number(process.hrtime.bigint() - compileStart) / 1e6).toFixed(1)} ms`,
);
const recompile = process.hrtime.bigint();
for (let i = 0; i < 20; i++) compileEventSchema("schema", SCHEMA);
console.log(
  `compile (warm, mean of 20)          ${(Number(process.hrtime.bigint() - recompile) / 20e6).toFixed(1)} ms`,
);

if (check(JSON.parse(utf8.decode(PAYLOAD))) !== undefined) throw new Error("the payload should pass");
const N = 200_000;
console.log(`payload ${PAYLOAD.byteLength} bytes, ${N} iterations`);
timeIt("JSON.parse only", N, () => JSON.parse(utf8.decode(PAYLOAD)));
timeIt("parse + schema check", N, () => check(JSON.parse(utf8.decode(PAYLOAD))));
const parsed = JSON.parse(utf8.decode(PAYLOAD));
timeIt("schema check only (parsed)", N, () => check(parsed));
const noPattern = compileEventSchema("schema", SCHEMA.replace(',"pattern":"^ord_[a-z0-9]{8,32}$"', ""));
timeIt("schema check only, no pattern", N, () => noPattern(parsed));
const re = /^ord_[a-z0-9]{8,32}$/u;
const patternOnly = compileEventSchema("schema", '{"type":"string","pattern":"^ord_[a-z0-9]{8,32}$"}');
timeIt("one pattern, RE2 (re2js)", N, () => patternOnly(parsed.id));
timeIt("one pattern, V8 RegExp (reference)", N, () => re.test(parsed.id));
const bad = { ...parsed, lines: [{ sku: "X", quantity: 0, price: 1 }] };
timeIt("schema check, failing payload", N, () => check(bad));
