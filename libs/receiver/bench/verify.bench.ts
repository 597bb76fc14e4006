// Verify throughput of @herald/receiver (the built dist, through the package's own exports) against the
// standardwebhooks and svix packages, side by side, on JSON payloads of about 1 KiB and 64 KiB given as a
// Buffer, as an HTTP server receives them. Run with `npm run bench` (it builds first). Prints Markdown.
import { cpus } from "node:os";
import { Webhook } from "@herald/receiver";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { Bench } from "tinybench";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SIZES = [
  { label: "1 KiB", bytes: 1024 },
  { label: "64 KiB", bytes: 64 * 1024 },
];

/** An order event with as many line items as it takes to reach `bytes`. */
function orderEvent(bytes: number): string {
  const items = [];
  for (let index = 0; ; index++) {
    items.push({
      sku: `SKU-${100_000 + index}`,
      name: `Item ${index}`,
      quantity: (index % 5) + 1,
      cents: 1999,
    });
    const json = JSON.stringify({ type: "order.created", data: { id: "ord_8f2k", currency: "EUR", items } });
    if (json.length >= bytes) return json;
  }
}

interface Contender {
  name: string;
  /** What the speed-up is measured against: the other libraries doing the same work. */
  parsesJson: boolean;
  verify: (payload: Buffer, headers: Record<string, string>) => unknown;
}

const ours = new Webhook(SECRET);
const standard = new StandardWebhook(SECRET);
const svix = new SvixWebhook(SECRET);
const contenders: Contender[] = [
  { name: "@herald/receiver verify()", parsesJson: true, verify: (p, h) => ours.verify(p, h) },
  {
    name: "@herald/receiver verifyAsync() (Web Crypto)",
    parsesJson: true,
    verify: (p, h) => ours.verifyAsync(p, h),
  },
  { name: "standardwebhooks verify()", parsesJson: true, verify: (p, h) => standard.verify(p, h) },
  {
    name: "@herald/receiver verify(…, { jsonParse: false })",
    parsesJson: false,
    verify: (p, h) => ours.verify(p, h, { jsonParse: false }),
  },
  {
    name: "standardwebhooks verify(…, { jsonParse: false })",
    parsesJson: false,
    verify: (p, h) => standard.verify(p, h, { jsonParse: false }),
  },
  { name: "svix verify() (never parses)", parsesJson: false, verify: (p, h) => svix.verify(p, h) },
];

const rows: string[] = [];
for (const { label, bytes } of SIZES) {
  const body = orderEvent(bytes);
  const payload = Buffer.from(body);
  const now = new Date();
  const headers = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": standard.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", now, body),
  };
  const bench = new Bench({ name: label, time: 1000, warmupTime: 200, throws: true });
  for (const contender of contenders) {
    await contender.verify(payload, headers); // a contender that rejects the request would measure nothing
    bench.add(contender.name, () => contender.verify(payload, headers));
  }
  await bench.run();
  const opsPerSecond = new Map(
    bench.tasks.map((task) => [
      task.name,
      "throughput" in task.result ? task.result.throughput.mean : Number.NaN,
    ]),
  );
  const ops = (name: string) => opsPerSecond.get(name) ?? Number.NaN;
  for (const contender of contenders) {
    const standardSameWork = contender.parsesJson
      ? "standardwebhooks verify()"
      : "standardwebhooks verify(…, { jsonParse: false })";
    const speedUp = (baseline: string) => `${(ops(contender.name) / ops(baseline)).toFixed(1)}×`;
    rows.push(
      `| ${label} (${payload.length} B) | ${contender.name} | ${Math.round(ops(contender.name)).toLocaleString("en-US")} | ` +
        `${speedUp(standardSameWork)} | ${speedUp("svix verify() (never parses)")} |`,
    );
  }
}

console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}\n`);
console.log("| payload | verifier | ops/s | vs standardwebhooks (same work) | vs svix |");
console.log("|---|---|--:|--:|--:|");
console.log(rows.join("\n"));
