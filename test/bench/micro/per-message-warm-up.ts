// Microbenchmark of the warm-ups routing, delivery and audit run before they report ready: in a fresh
// process, the CPU time of the first MESSAGES messages through each service's per-message code, cold
// (as a process starts) and after the service's warm-up; TRIALS fresh processes of each. The per-message
// code is the consumer's: routing decodes an event message, matches three endpoints (one by a filter)
// and encodes the tasks and routing record; delivery decodes a task message and runs deliverTask, which
// signs and POSTs it with a WebhookClient to a receiver in a process of its own (so only delivery's CPU
// is counted) and encodes the attempt record; audit decodes routing and attempt messages and writes them
// in batches of BATCH_RECORDS with its AttemptLogWriter to a stand-in database that serializes to BSON.
// Its inputs are its own (other ids, endpoints and filter than the warm-ups'). Not part of `npm run bench`:
//   npx nx run-many -t build --output-style=static && npx node test/bench/micro/per-message-warm-up.ts
// SERVICES=routing,delivery,audit picks the services, WARM_UP_ROUNDS=n the warm-ups' rounds. Results: docs/decisions/single-event-speed.md.
import { type ChildProcess, fork, spawn } from "node:child_process";
import { once } from "node:events";
import { cpuUsage } from "node:process";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as contracts from "@herald/contracts";

const ROOT = process.env.HERALD_ROOT ?? new URL("../../..", import.meta.url).pathname;
const MESSAGES = Number(process.env.MESSAGES ?? 1_000);
const TRIALS = Number(process.env.TRIALS ?? 3);
const SERVICES = (process.env.SERVICES ?? "routing,delivery,audit").split(",");
/** Rounds of each warm-up; default the service's own. */
const WARM_UP_ROUNDS = process.env.WARM_UP_ROUNDS ? Number(process.env.WARM_UP_ROUNDS) : undefined;
/** Messages per block in the report: the first block shows where a cold process pays. */
const BLOCK = 250;
/** Deliveries in flight at once, as a busy delivery instance has them. */
const IN_FLIGHT = 16;
/** Records per audit write (audit's batcher gathers records across messages). */
const BATCH_RECORDS = 20;

interface ChildResult {
  service: string;
  warm: boolean;
  /** Wall and CPU ms of the warm-up, when run. */
  warmUpMs?: number;
  warmUpCpuMs?: number;
  /** CPU ms of each block of BLOCK messages. */
  blocksCpuMs: number[];
}

const platform = await import(`${ROOT}/node_modules/@herald/platform/dist/index.js`);
const model = await import(`${ROOT}/node_modules/@herald/platform/dist/model/index.js`);
const { TEST_SECRET_KEYS, testEndpoint, testTenant } = await import(
  `${ROOT}/node_modules/@herald/platform/dist/testing/index.js`
);
const logger = platform.createLogger({ service: "micro", level: "silent" });
const EPOCH = new Date(0);
const payloadOf = (i: number) =>
  Buffer.from(
    JSON.stringify({ order: `ord_${i}`, amount: 100 + (i % 50), items: [1, 2, 3], note: "x".repeat(120) }),
  );

const tenant = testTenant("t_bench");
const endpointDoc = (id: string, fields: object) =>
  testEndpoint({ _id: id, tenant_id: tenant._id, url: "https://receiver.invalid/hook", ...fields });

/** CPU ms of `run(i)` for each message, by block of BLOCK; `inFlight` at once. */
async function blocks(run: (i: number) => Promise<unknown>, inFlight = 1): Promise<number[]> {
  const result: number[] = [];
  for (let start = 0; start < MESSAGES; start += BLOCK) {
    const end = Math.min(MESSAGES, start + BLOCK);
    let next = start;
    const before = cpuUsage();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < end) await run(next++);
      }),
    );
    const used = cpuUsage(before);
    result.push((used.user + used.system) / 1000);
  }
  return result;
}

async function routing(warm: boolean): Promise<Omit<ChildResult, "service" | "warm">> {
  const { routeEvent } = await import(`${ROOT}/apps/routing/dist/routing/route-event.js`);
  const { warmUpRoutingPath } = await import(`${ROOT}/apps/routing/dist/routing/warm-up.js`);
  const endpoints = [
    endpointDoc("ep_a", {}),
    endpointDoc("ep_b", { event_types: ["order.*"], filter: "payload.amount >= 120.0" }),
    endpointDoc("ep_c", { event_types: ["invoice.*"] }),
  ];
  const deps = {
    cache: { tenant: async () => tenant, endpointsOf: async () => endpoints },
    publishTask: async (task: contracts.DeliveryTask) =>
      toBinary(
        contracts.DeliveryTaskBatchSchema,
        create(contracts.DeliveryTaskBatchSchema, { tasks: [task] }),
      ),
    publishAudit: async (record: contracts.AuditRecord) =>
      toBinary(
        contracts.AuditRecordBatchSchema,
        create(contracts.AuditRecordBatchSchema, { records: [record] }),
      ),
    logger,
    now: () => new Date(),
    metrics: { recordRouted: () => {}, countDropped: () => {} },
  };
  const messages = Array.from({ length: MESSAGES }, (_, i) =>
    toBinary(
      contracts.EventBatchSchema,
      create(contracts.EventBatchSchema, {
        events: [
          {
            id: `evt_bench${String(i).padStart(13, "0")}`,
            tenantId: tenant._id,
            eventType: "order.created",
            payload: payloadOf(i),
            createTime: timestampFromDate(new Date()),
          },
        ],
      }),
    ),
  );
  const warmUp = warm ? await timed(() => warmUpRoutingPath(logger, WARM_UP_ROUNDS)) : undefined;
  const blocksCpuMs = await blocks(async (i) => {
    for (const event of fromBinary(contracts.EventBatchSchema, messages[i] as Uint8Array).events)
      await routeEvent(deps, event);
  });
  return { ...warmUp, blocksCpuMs };
}

async function delivery(warm: boolean): Promise<Omit<ChildResult, "service" | "warm">> {
  const { deliverTask } = await import(`${ROOT}/apps/delivery/dist/deliver-task.js`);
  const { WebhookClient } = await import(`${ROOT}/apps/delivery/dist/webhook-client.js`);
  const { standInDeliverDeps, warmUpDeliveryPath } = await import(`${ROOT}/apps/delivery/dist/warm-up.js`);
  const box = new model.SecretBox(TEST_SECRET_KEYS);
  const endpoint = endpointDoc("ep_bench", {
    url: `http://127.0.0.1:${process.env.RECEIVER_PORT}/hooks/bench?token=abc`,
    secrets: [
      { id: "s1", sealed: box.seal(`whsec_${Buffer.alloc(32, 3).toString("base64")}`), create_time: EPOCH },
    ],
  });
  const client = new WebhookClient({
    connectTimeoutMs: 5_000,
    requestTimeoutMs: 15_000,
    maxResponseBytes: 4096,
    connectionsPerOrigin: 64,
    allowlist: model.urlAllowlist.parse("127.0.0.1/32"),
  });
  const deps = standInDeliverDeps({ box, userAgent: "Herald/bench", logger }, endpoint, client);
  const messages = Array.from({ length: MESSAGES }, (_, i) =>
    toBinary(
      contracts.DeliveryTaskBatchSchema,
      create(contracts.DeliveryTaskBatchSchema, {
        tasks: [
          {
            eventId: `evt_bench${String(i).padStart(13, "0")}`,
            tenantId: tenant._id,
            endpointId: endpoint._id,
            eventType: "order.created",
            payload: payloadOf(i),
            attempt: 1,
            eventTime: timestampFromDate(new Date()),
            dueTime: timestampFromDate(new Date()),
            trigger: contracts.AttemptTrigger.SCHEDULED,
          },
        ],
      }),
    ),
  );
  const warmUp = warm
    ? await timed(() =>
        warmUpDeliveryPath({ box, userAgent: "Herald/bench", logger, rounds: WARM_UP_ROUNDS }),
      )
    : undefined;
  const blocksCpuMs = await blocks(async (i) => {
    for (const task of fromBinary(contracts.DeliveryTaskBatchSchema, messages[i] as Uint8Array).tasks) {
      const outcome = await deliverTask(deps, task, { waits: { endpointMs: 0, slotMs: 0 } });
      if (outcome.kind !== "succeeded") throw new Error(`delivery ${outcome.kind}`);
    }
  }, IN_FLIGHT);
  await client.close();
  return { ...warmUp, blocksCpuMs };
}

async function audit(warm: boolean): Promise<Omit<ChildResult, "service" | "warm">> {
  const { AttemptLogWriter } = await import(`${ROOT}/apps/audit/dist/attempt-log-writer.js`);
  const { recordProblem, writeAuditRecords } = await import(`${ROOT}/apps/audit/dist/record-writer.js`);
  const { bsonSerializingDb, warmUpRecordPath } = await import(`${ROOT}/apps/audit/dist/warm-up.js`);
  const writer = new AttemptLogWriter(bsonSerializingDb());
  // Message i: event i/2's routing record (even i) or its attempt record (odd i).
  const messages = Array.from({ length: MESSAGES }, (_, i) => {
    const eventId = `evt_bench${String(i >> 1).padStart(13, "0")}`;
    const now = timestampFromDate(new Date());
    const record =
      i % 2 === 0
        ? create(contracts.AuditRecordSchema, {
            record: {
              case: "routing",
              value: {
                eventId,
                tenantId: tenant._id,
                eventType: "order.created",
                endpointIds: ["ep_a", "ep_b"],
                routeTime: now,
              },
            },
            state: contracts.DeliveryState.PENDING,
          })
        : create(contracts.AuditRecordSchema, {
            record: {
              case: "attempt",
              value: {
                id: `att_bench${String(i).padStart(24, "0")}`,
                tenantId: tenant._id,
                eventId,
                endpointId: i % 4 === 1 ? "ep_a" : "ep_b",
                attemptNumber: 1,
                success: true,
                responseStatus: 200,
                responseBody: "ok",
                latencyMs: 3,
                attemptTime: now,
                url: "https://receiver.invalid/hook",
              },
            },
            state: contracts.DeliveryState.SUCCEEDED,
          });
    return toBinary(
      contracts.AuditRecordBatchSchema,
      create(contracts.AuditRecordBatchSchema, { records: [record] }),
    );
  });
  const warmUp = warm ? await timed(() => warmUpRecordPath(WARM_UP_ROUNDS)) : undefined;
  let pending: unknown[] = [];
  const blocksCpuMs = await blocks(async (i) => {
    for (const record of fromBinary(contracts.AuditRecordBatchSchema, messages[i] as Uint8Array).records) {
      if (!recordProblem(record)) pending.push(record);
    }
    if (pending.length >= BATCH_RECORDS || i === MESSAGES - 1) {
      const batch = pending;
      pending = [];
      await writeAuditRecords(writer, batch, new Date());
    }
  });
  return { ...warmUp, blocksCpuMs };
}

async function timed(run: () => Promise<unknown>): Promise<{ warmUpMs: number; warmUpCpuMs: number }> {
  const started = performance.now();
  const before = cpuUsage();
  await run();
  const used = cpuUsage(before);
  return { warmUpMs: performance.now() - started, warmUpCpuMs: (used.user + used.system) / 1000 };
}

const measures: Record<string, (warm: boolean) => Promise<Omit<ChildResult, "service" | "warm">>> = {
  routing,
  delivery,
  audit,
};

async function child(service: string, warm: boolean): Promise<void> {
  const measure = measures[service];
  if (!measure) throw new Error(`unknown service ${service}`);
  process.send?.({ service, warm, ...(await measure(warm)) } satisfies ChildResult);
}

async function main(): Promise<void> {
  // The receiver of delivery's POSTs, in a process of its own so its CPU is not counted.
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
  const results: ChildResult[] = [];
  for (const service of SERVICES) {
    // Cold and warmed alternate, so a machine whose load changes weighs on both alike.
    for (let trial = 0; trial < TRIALS; trial++) {
      for (const warm of [false, true]) {
        const proc: ChildProcess = fork(
          new URL(import.meta.url),
          ["child", service, warm ? "warm" : "cold"],
          {
            env: { ...process.env, RECEIVER_PORT: portLine.toString().trim() },
            stdio: "inherit",
          },
        );
        const [result] = (await once(proc, "message")) as [ChildResult];
        await once(proc, "exit");
        results.push(result);
      }
    }
  }
  receiver.kill();
  console.log(
    `root ${ROOT}; warm-up rounds ${WARM_UP_ROUNDS ?? "default"}; first ${MESSAGES} messages of a fresh process; CPU ms (by block of ${BLOCK})`,
  );
  for (const r of results) {
    const total = r.blocksCpuMs.reduce((a, b) => a + b, 0);
    const warmUp =
      r.warmUpMs === undefined
        ? ""
        : `; warm-up ${Math.round(r.warmUpMs)} ms wall, ${Math.round(r.warmUpCpuMs ?? 0)} ms CPU`;
    console.log(
      `${r.service.padEnd(9)} ${r.warm ? "warmed" : "cold  "} ${total.toFixed(0).padStart(5)} ms  (${r.blocksCpuMs.map((ms) => ms.toFixed(0)).join(" / ")})${warmUp}`,
    );
  }
}

if (process.argv[2] === "child") await child(process.argv[3] as string, process.argv[4] === "warm");
else await main();
