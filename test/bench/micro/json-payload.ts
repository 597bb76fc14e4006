// Microbenchmark of a Connect JSON PublishEvent body's request-side work per event, with the payload as
// base64 (protobuf's JSON mapping) and as the JSON object itself (apps/ingest/src/json-payload.ts):
// the rewrite, connect-es's parse and fromJson, then ingest's payload check. Not part of `npm run bench`;
// run it on its own:
//   npx nx run-many -t build --output-style=static && node test/bench/micro/json-payload.ts
// Results: docs/decisions/plain-json-payloads.md.
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { PublishEventRequestSchema } from "@herald/contracts";
import { publishEventBody } from "../../../apps/ingest/dist/json-payload.js";
import { validateEvent } from "../../../apps/ingest/dist/validate.js";
import { onlyKnownFields } from "../../../libs/platform/dist/rpc/vendor/json-request-rewrite.js";

const ORDER = {
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
};
const BIG = {
  ...ORDER,
  lines: Array.from({ length: 40 }, (_, i) => ({ sku: `SKU-${i}`, quantity: i + 1, price: i * 1.5 })),
};
const LIMITS = { maxPayloadBytes: 256 * 1024 };

function bodies(payload: object) {
  const text = JSON.stringify(payload);
  return {
    bytes: Buffer.byteLength(text),
    base64: JSON.stringify({
      tenantId: "acme",
      event: { eventType: "order.created", payload: Buffer.from(text).toString("base64") },
    }),
    object: JSON.stringify({ tenantId: "acme", event: { eventType: "order.created", payload } }),
  };
}

/** What connect-es does with a body's text (parse, fromJson), then ingest's check. */
function connectAndCheck(text: string) {
  const req = fromJson(PublishEventRequestSchema, JSON.parse(text) as JsonValue, {
    ignoreUnknownFields: true,
  });
  return validateEvent(req.event, LIMITS, "event");
}

/** Before the rewrite existed: connect-es and ingest's check only. */
const beforeRewrite = (text: string) => connectAndCheck(text);

/** As the shim runs it: the body as sent, the rewritten body parsed, or (an unknown key) its text. */
function withRewrite(text: string) {
  const body = publishEventBody(text);
  if (body === undefined) return connectAndCheck(text);
  if (!onlyKnownFields(PublishEventRequestSchema, body)) return connectAndCheck(JSON.stringify(body));
  return validateEvent(fromJson(PublishEventRequestSchema, body).event, LIMITS, "event");
}

/**
 * CPU time per call (process.cpuUsage, so time the process waits for a core on a shared machine is left
 * out), the best of ROUNDS rounds.
 */
function timeIt(label: string, iterations: number, fn: () => unknown): number {
  for (let i = 0; i < 20_000; i++) fn(); // warm up the JIT
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) fn();
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / iterations);
  }
  console.log(`${label.padEnd(44)} ${best.toFixed(2)} µs`);
  return best;
}

const N = 20_000;
const ROUNDS = 10;
const order = bodies(ORDER);
const big = bodies(BIG);
// A 20-digit id takes the slower parse that keeps its text (json-payload.ts).
const inexact = bodies(ORDER);
for (const key of ["base64", "object"] as const) {
  const payload = JSON.stringify(ORDER).replace('"id":"ord_3f9a1b2c4d"', '"id":12345678901234567890');
  inexact[key] =
    key === "object"
      ? `{"tenantId":"acme","event":{"eventType":"order.created","payload":${payload}}}`
      : JSON.stringify({
          tenantId: "acme",
          event: { eventType: "order.created", payload: Buffer.from(payload).toString("base64") },
        });
}
// A 19-digit id as a string stays on the fast path.
const stringId = bodies({ ...ORDER, id: "1234567890123456789" });
for (const [name, b] of [
  [`order (${order.bytes} bytes)`, order],
  [`order with 40 lines (${big.bytes} bytes)`, big],
  ["order with a 20-digit number", inexact],
  ["order with a 19-digit string id", stringId],
] as const) {
  console.log(`\n${name}, best of ${ROUNDS} rounds of ${N} calls`);
  const base = timeIt("base64, no rewrite (as before)", N, () => beforeRewrite(b.base64));
  const scanned = timeIt("base64, through the rewrite", N, () => withRewrite(b.base64));
  const obj = timeIt("object, through the rewrite", N, () => withRewrite(b.object));
  console.log(`${"added for base64 callers".padEnd(44)} ${(scanned - base).toFixed(2)} µs`);
  console.log(`${"added by the object form".padEnd(44)} ${(obj - base).toFixed(2)} µs`);
}
