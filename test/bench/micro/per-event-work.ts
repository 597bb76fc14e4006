// Microbenchmark of the per-event functions of ingest and delivery that the `single-json` profile named
// (docs/decisions/single-event-speed.md, "Second round"): CPU µs per call of each, measured in one
// process, round by round (the median of ROUNDS), so the figures depend little on what else runs.
// Not part of `npm run bench`; run it on its own:
//   npx nx run-many -t build --output-style=static && npx node test/bench/micro/per-event-work.ts
// HERALD_ROOT=<dir> measures another build of the same layout (a copy of apps/*/dist and libs/*/dist with
// a node_modules whose @herald/* point into it): how the figures before a change were taken.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpuUsage } from "node:process";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

const ROOT = process.env.HERALD_ROOT ?? new URL("../../..", import.meta.url).pathname;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const CALLS = Number(process.env.CALLS ?? 50_000);

const { DeliveryTaskSchema, DeliveryState, ErrorClass, AttemptTrigger, AuditRecordSchema, toBinary } =
  await import(`${ROOT}/node_modules/@herald/contracts/dist/index.js`).then(async (contracts) => ({
    ...contracts,
    toBinary: (await import("@bufbuild/protobuf")).toBinary,
  }));
const deliverTask = await import(`${ROOT}/apps/delivery/dist/deliver-task.js`);
const { CircuitBreakers } = await import(`${ROOT}/apps/delivery/dist/circuit-breaker.js`);
const { webhookRequest } = await import(`${ROOT}/apps/delivery/dist/webhook-request.js`);
const { WebhookClient } = await import(`${ROOT}/apps/delivery/dist/webhook-client.js`);
const model = await import(`${ROOT}/node_modules/@herald/platform/dist/model/index.js`);
const { testEndpoint, TEST_SECRET_KEYS } = await import(
  `${ROOT}/node_modules/@herald/platform/dist/testing/index.js`
);

const box = new model.SecretBox(TEST_SECRET_KEYS);
const endpoint = testEndpoint({
  url: "http://127.0.0.1:45123/hooks/fast?token=abc",
  secrets: [
    {
      id: "s1",
      sealed: box.seal(`whsec_${Buffer.alloc(32, 3).toString("base64")}`),
      create_time: new Date(0),
    },
  ],
});
const payload = new TextEncoder().encode(
  JSON.stringify({ order: 12345, items: [1, 2, 3], note: "x".repeat(200) }),
);
const task = create(DeliveryTaskSchema, {
  eventId: "evt_0123456789abcdef0123",
  tenantId: "t1",
  endpointId: endpoint._id,
  eventType: "order.created",
  payload,
  attempt: 1,
  eventTime: timestampFromDate(new Date()),
  dueTime: timestampFromDate(new Date()),
  trigger: AttemptTrigger.SCHEDULED,
});

const breakers = new CircuitBreakers({
  failureRatio: 0.5,
  minimumAttempts: 10,
  windowMs: 60_000,
  cooldownMs: 30_000,
  maxCooldownMs: 600_000,
});
let sink = 0;

// A fake api_keys collection: the authenticator reads it once, then answers from its cache.
const generated = model.generateApiKey();
const keysDb = {
  collection: () => ({
    findOne: async () => ({
      _id: generated.id,
      tenant_id: "t1",
      scopes: [1],
      secret_hash: generated.secretHash,
    }),
  }),
};
const authenticator = new model.ApiKeyAuthenticator(keysDb, {
  adminKey: "admin-key-that-is-long-enough-0000",
});
await authenticator.authenticate(generated.token);

const cases: Record<string, () => unknown> = {
  "delivery: attempt record (build + encode)": () => {
    const record = deliverTask.attemptRecord(
      { task, now: Date.now(), url: "http://127.0.0.1:45123/hooks/fast", waited: undefined },
      { responseStatus: 200, responseBody: "", latencyMs: 2, errorClass: ErrorClass.NONE },
      DeliveryState.SUCCEEDED,
    );
    return toBinary(AuditRecordSchema, record).length;
  },
  "delivery: circuit breaker record (success)": () => breakers.record(endpoint._id, true, "t1"),
  "delivery: redacted URL": () => deliverTask.redactUrl(endpoint.url).length,
  "delivery: signed request": () =>
    webhookRequest({ task, endpoint, box, userAgent: "Herald/bench", now: Date.now() }).body.length,
  "ingest: API key from cache": () => authenticator.authenticate(generated.token),
};

/** CPU µs per call of `fn` over `calls` calls (awaited one after the other when it returns a promise). */
async function measure(fn: () => unknown, calls: number): Promise<number> {
  const before = cpuUsage();
  for (let i = 0; i < calls; i++) {
    let result = fn();
    if (result instanceof Promise) result = await result;
    if (typeof result === "number") sink += result;
  }
  const used = cpuUsage(before);
  return (used.user + used.system) / calls;
}

// Warm-up: every case compiled before measuring.
for (const fn of Object.values(cases)) await measure(fn, CALLS);
const samples = new Map<string, number[]>(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(cases)) samples.get(name)?.push(await measure(fn, CALLS));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
console.log(`root ${ROOT}; ${ROUNDS} rounds of ${CALLS} calls; CPU µs per call (median, min–max)`);
for (const [name, values] of samples) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(
    `${name.padEnd(46)} ${median(values).toFixed(2).padStart(7)}  (${sorted[0]?.toFixed(2)}–${sorted.at(-1)?.toFixed(2)})`,
  );
}
if (sink === 0) console.log("(nothing measured)");

// WebhookClient.post against a receiver in a process of its own (so only the client's CPU is counted),
// 64 POSTs in flight as delivery keeps them: CPU µs per POST, the median of ROUNDS rounds.
const receiver = spawn(
  process.execPath,
  [
    "-e",
    `require("node:http").createServer((req, res) => { req.resume(); req.on("end", () => res.end("ok")); })
      .listen(0, "127.0.0.1", function () { console.log(this.address().port); });`,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const [portLine] = (await once(receiver.stdout, "data")) as [Buffer];
const client = new WebhookClient({
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 15_000,
  maxResponseBytes: 4096,
  connectionsPerOrigin: 64,
  allowlist: model.urlAllowlist.parse("127.0.0.1/32"),
});
const signed = webhookRequest({ task, endpoint, box, userAgent: "Herald/bench", now: Date.now() });
const hookUrl = `http://127.0.0.1:${Number(portLine.toString())}/hooks/fast?token=abc`;
const posts = async (count: number): Promise<number> => {
  let started = 0;
  const before = cpuUsage();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (started++ < count) {
        const response = await client.post(hookUrl, signed.headers, signed.body);
        if (response.status !== 200) throw new Error(`status ${response.status}`);
      }
    }),
  );
  const used = cpuUsage(before);
  return (used.user + used.system) / count;
};
await posts(CALLS / 5);
const postSamples: number[] = [];
for (let round = 0; round < ROUNDS; round++) postSamples.push(await posts(CALLS / 5));
postSamples.sort((a, b) => a - b);
console.log(
  `${"delivery: WebhookClient.post, 64 in flight".padEnd(46)} ${median(postSamples).toFixed(2).padStart(7)}  (${postSamples[0]?.toFixed(2)}–${postSamples.at(-1)?.toFixed(2)})`,
);
await client.close();
receiver.kill();
