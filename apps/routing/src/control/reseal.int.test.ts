import { createLogger } from "@herald/platform";
import {
  type EndpointDocument,
  endpointHeaders,
  endpointsCollection,
  SecretBox,
  signingSecrets,
} from "@herald/platform/model";
import { TEST_ADMIN_KEY } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { msToDuration } from "./fields.js";
import { SecretResealer, staleEndpointsFilter } from "./reseal.js";
import { RoutingUnderTest } from "./routing.test-support.js";

// Two keys: endpoints sealed under the old one are re-sealed in the background by a routing instance
// whose ring puts the new one first; then the old key leaves the ring and every endpoint still opens.

const OLD = `old:${Buffer.alloc(32, 1).toString("base64")}`;
const NEW = `new:${Buffer.alloc(32, 2).toString("base64")}`;
const ENDPOINTS = 7;
const tenantId = "keyring";

let routing: RoutingUnderTest;
/** Secrets and headers in clear as created, by endpoint id. */
const created = new Map<string, { secrets: string[]; headers: Record<string, string> }>();

async function storedEndpoints(): Promise<EndpointDocument[]> {
  return endpointsCollection(await routing.db())
    .find({})
    .sort({ _id: 1 })
    .toArray();
}

async function metric(instance: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${routing.port(instance)}/metrics`)).text();
  // Every series carries the service label: `name{service="routing"} value`.
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

beforeAll(async () => {
  // Batches of 3 over 7 endpoints: a pass takes three batches.
  routing = await RoutingUnderTest.start({ HERALD_SECRET_KEYS: OLD, SECRET_RESEAL_BATCH: "3" });
  const admin = routing.admin();
  await admin.tenants.createTenant({ tenantId, name: "Key ring" });
  for (let i = 0; i < ENDPOINTS; i++) {
    const headers = { Authorization: `Bearer receiver-${i}` };
    const { endpoint } = await admin.endpoints.createEndpoint({
      tenantId,
      url: "http://127.0.0.1:8080/hooks",
      headers,
    });
    const endpointId = endpoint?.id ?? "";
    // Some mid-rotation, with two valid secrets.
    if (i % 2 === 0) {
      await admin.endpoints.rotateSecret({ tenantId, endpointId, overlap: msToDuration(3_600_000) });
    }
    const { secrets } = await admin.endpoints.getEndpointSecret({ tenantId, endpointId });
    created.set(endpointId, { secrets: secrets.map((s) => s.secret), headers });
  }
  // One written by a version that kept headers in clear.
  const legacy = (await storedEndpoints())[0] as EndpointDocument;
  const legacyHeaders = { "X-Legacy": "clear-value" };
  await endpointsCollection(await routing.db()).updateOne(
    { _id: legacy._id },
    { $set: { headers: legacyHeaders }, $unset: { sealed_headers: "" } },
  );
  (created.get(legacy._id) as { headers: Record<string, string> }).headers = legacyHeaders;
  await routing.stopInstance(0);
});

afterAll(async () => {
  await routing?.stop();
});

describe("re-sealing endpoint secrets under a new key", () => {
  it("re-seals every endpoint in the background; with the old key gone each still opens and signs", async () => {
    const rotated = new SecretBox(`${NEW},${OLD}`);
    const db = await routing.db();
    expect(await endpointsCollection(db).countDocuments(staleEndpointsFilter(rotated))).toBe(ENDPOINTS);

    routing.env.HERALD_SECRET_KEYS = `${NEW},${OLD}`;
    const instance = await routing.startInstance();
    await vi.waitFor(async () => expect(await metric(instance, "herald_secrets_stale_endpoints")).toBe(0), {
      timeout: 10_000,
      interval: 100,
    });
    expect(await metric(instance, "herald_secrets_resealed_total")).toBe(ENDPOINTS);
    const stored = await storedEndpoints();
    const text = JSON.stringify(stored);
    expect(text).not.toContain("v1:old:");
    expect(text).not.toContain("clear-value");
    await routing.stopInstance(instance);

    // The old key leaves the ring: everything opens with the new key alone, through the API and as
    // delivery opens it to sign.
    const newOnly = new SecretBox(NEW);
    routing.env.HERALD_SECRET_KEYS = NEW;
    const last = await routing.startInstance();
    const api = routing.as(TEST_ADMIN_KEY, "connect", last);
    for (const endpoint of stored) {
      const expected = created.get(endpoint._id);
      expect(signingSecrets(endpoint, newOnly, new Date())).toEqual(expected?.secrets);
      expect(endpointHeaders(endpoint, newOnly)).toEqual(expected?.headers);
      const { secrets } = await api.endpoints.getEndpointSecret({ tenantId, endpointId: endpoint._id });
      expect(secrets.map((s) => s.secret)).toEqual(expected?.secrets);
    }
    // Nothing is left for the new instance's pass either.
    await vi.waitFor(async () => expect(await metric(last, "herald_secrets_stale_endpoints")).toBe(0));
  });

  it("reports an endpoint under a key the ring lacks as remaining, and re-seals nothing of it", async () => {
    const db = await routing.db();
    const [first] = await storedEndpoints();
    const foreign = new SecretBox(`gone:${Buffer.alloc(32, 3).toString("base64")}`);
    await endpointsCollection(db).updateOne(
      { _id: first?._id },
      { $set: { "secrets.0.sealed": foreign.seal("whsec_x") } },
    );
    const resealer = new SecretResealer(endpointsCollection(db), new SecretBox(NEW), {
      batchSize: 2,
      logger: createLogger({ service: "test", level: "silent" }),
    });
    expect(await resealer.pass()).toEqual({ resealed: 0, unopenable: 1, remaining: 1 });
  });
});
