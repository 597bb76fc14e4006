import { timestampDate } from "@bufbuild/protobuf/wkt";
import { PayloadFormat, SignatureScheme } from "@herald/contracts";
import { type EndpointDocument, SecretBox } from "@herald/platform/model";
import { Webhook, WebhookVerificationError } from "@herald/receiver";
import { MongoClient } from "mongodb";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import { type OtlpReceiver, otlpEnv, startOtlpReceiver } from "./support/otlp.js";
import { type ReceivedRequest, type Receiver, startReceiver } from "./support/receiver.js";
import { SERVICES, type Stack, startStack } from "./support/stack.js";

// v1a (ed25519) signatures and the event type reaching the receiver, end to end: endpoints created over
// Connect, events published over gRPC, deliveries received by real HTTP servers and verified with
// @herald/receiver. The standardwebhooks package (1.1.1 here, 1.3.0 alike) verifies v1 only, so it checks
// the v1 half of a mixed rotation. Ingest takes JSON objects only today, so the envelope's data_base64 form
// (payloads that are not JSON) is covered by apps/delivery's unit tests.

let stack: Stack;
let otlp: OtlpReceiver;
let ingest: GrpcIngestClient;
let acme: TestTenant;
let signed: Receiver;
let enveloped: Receiver;
const ids = { signed: "", enveloped: "" };

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  stack = await startStack(otlpEnv(otlp));
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  acme = await createTenant(stack, "acme");
  [signed, enveloped] = await Promise.all([startReceiver(), startReceiver()]);
  const create = async (url: string, eventTypes: string[], payloadFormat: PayloadFormat) =>
    (
      await acme.clients.endpoints.createEndpoint({
        tenantId: acme.id,
        url,
        eventTypes,
        signatureScheme: SignatureScheme.V1A,
        payloadFormat,
      })
    ).endpoint?.id ?? "";
  ids.signed = await create(signed.url, ["order.*"], PayloadFormat.RAW);
  ids.enveloped = await create(enveloped.url, ["invoice.*"], PayloadFormat.ENVELOPE);
});

afterAll(async () => {
  ingest?.close();
  await Promise.all([signed?.close(), enveloped?.close()]);
  await stack?.stop();
  await otlp?.close();
});

/** The endpoint's whpk_ public keys as its reads show them, newest first. */
async function publicKeys(endpointId: string): Promise<string[]> {
  const { endpoint } = await acme.clients.endpoints.getEndpoint({ tenantId: acme.id, endpointId });
  return (endpoint?.secrets ?? []).map((s) => s.publicKey);
}

function failureCode(verify: () => unknown): string {
  try {
    verify();
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.code;
    throw err;
  }
  return "verified";
}

function headersOf(request: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
}

async function publish(eventType: string, payload: Buffer): Promise<string> {
  const { event_id } = await ingest.publishEvent(
    { tenant_id: acme.id, event: { event_type: eventType, payload } },
    acme.publishKey,
  );
  return event_id;
}

/** Publishes and returns the request the receiver got for it. */
async function delivered(receiver: Receiver, eventType: string, payload: Buffer): Promise<ReceivedRequest> {
  const count = receiver.requests.length;
  const eventId = await publish(eventType, payload);
  const [request] = (await receiver.waitFor(count + 1)).slice(count);
  expect(request?.headers["webhook-id"]).toBe(eventId);
  return request as ReceivedRequest;
}

/** The v1a private keys as stored, opened: to prove they never show up anywhere else. */
async function storedPrivateKeys(): Promise<string[]> {
  const box = new SecretBox(stack.env.HERALD_SECRET_KEYS as string);
  const client = await new MongoClient(stack.env.MONGO_URL as string).connect();
  try {
    const docs = await client
      .db(stack.env.MONGO_DB)
      .collection<EndpointDocument>("endpoints")
      .find({ tenant_id: acme.id })
      .toArray();
    return docs.flatMap((doc) =>
      doc.secrets.filter((s) => s.scheme === "v1a").map((s) => box.open(s.sealed)),
    );
  } finally {
    await client.close();
  }
}

describe("v1a (ed25519) signatures", () => {
  it("signs each delivery with the endpoint's key, verified by @herald/receiver with the public key", async () => {
    const [publicKey] = await publicKeys(ids.signed);
    expect(publicKey).toMatch(/^whpk_/);
    const payload = Buffer.from('{ "order": {"id": "o_1"}, "note": "é" }');
    const request = await delivered(signed, "order.created", payload);
    expect(request.body.equals(payload)).toBe(true);
    expect(request.headers["webhook-signature"]).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(request.headers["webhook-event-type"]).toBe("order.created");
    expect(new Webhook(publicKey as string).verify(request.body, headersOf(request))).toEqual(
      JSON.parse(payload.toString()),
    );
    // Another endpoint's key does not verify it: the key pair is per endpoint.
    const [otherKey] = await publicKeys(ids.enveloped);
    expect(failureCode(() => new Webhook(otherKey as string).verify(request.body, headersOf(request)))).toBe(
      "no_matching_signature",
    );
    const tampered = Buffer.from(payload.toString().replace("o_1", "o_2"));
    expect(failureCode(() => new Webhook(publicKey as string).verify(tampered, headersOf(request)))).toBe(
      "no_matching_signature",
    );
  });

  it("signs with the old and the new key through a rotation, then with v1 and v1a when switching", async () => {
    const [oldKey] = await publicKeys(ids.signed);
    await acme.clients.endpoints.rotateSecret({
      tenantId: acme.id,
      endpointId: ids.signed,
      overlap: { seconds: 3600n },
    });
    const [newKey, previous] = await publicKeys(ids.signed);
    expect(previous).toBe(oldKey);
    expect(newKey).not.toBe(oldKey);
    const during = await delivered(signed, "order.paid", Buffer.from('{"id":"o_1"}'));
    expect(
      String(during.headers["webhook-signature"])
        .split(" ")
        .map((s) => s.slice(0, 4)),
    ).toEqual(["v1a,", "v1a,"]);
    // A receiver still on the old key, one already on the new, and one trusting both all accept it.
    for (const keys of [[oldKey], [newKey], [newKey, oldKey]] as string[][]) {
      expect(new Webhook(keys).verify(during.body, headersOf(during))).toEqual({ id: "o_1" });
    }

    // Back to v1 with an overlap: a v1 receiver and a v1a receiver both verify during the switch.
    await acme.clients.endpoints.rotateSecret({
      tenantId: acme.id,
      endpointId: ids.signed,
      signatureScheme: SignatureScheme.V1,
      overlap: { seconds: 3600n },
    });
    const { secrets } = await acme.clients.endpoints.getEndpointSecret({
      tenantId: acme.id,
      endpointId: ids.signed,
    });
    expect(secrets.map((s) => s.scheme)).toEqual([
      SignatureScheme.V1,
      SignatureScheme.V1A,
      SignatureScheme.V1A,
    ]);
    const whsec = secrets[0]?.secret ?? "";
    const mixed = await delivered(signed, "order.shipped", Buffer.from('{"id":"o_1","n":2}'));
    expect(
      String(mixed.headers["webhook-signature"])
        .split(" ")
        .map((s) => s.split(",")[0]),
    ).toEqual(["v1", "v1a", "v1a"]);
    expect(new StandardWebhook(whsec).verify(mixed.body.toString(), headersOf(mixed))).toEqual({
      id: "o_1",
      n: 2,
    });
    expect(new Webhook(newKey as string).verify(mixed.body, headersOf(mixed))).toEqual({ id: "o_1", n: 2 });
    expect(new Webhook(whsec).verify(mixed.body, headersOf(mixed))).toEqual({ id: "o_1", n: 2 });
  });
});

describe("the event type reaches the receiver", () => {
  it("wraps JSON payloads in the signed envelope with the type in a header too", async () => {
    const [publicKey] = await publicKeys(ids.enveloped);
    const payload = Buffer.from('{"invoice": "in_1",  "total": 12.5}');
    const request = await delivered(enveloped, "invoice.paid", payload);
    expect(request.headers["webhook-event-type"]).toBe("invoice.paid");
    const envelope = new Webhook(publicKey as string).verify(request.body, headersOf(request)) as {
      type: string;
      timestamp: string;
      data: unknown;
    };
    expect(envelope.type).toBe("invoice.paid");
    expect(envelope.data).toEqual({ invoice: "in_1", total: 12.5 });
    // The time the event was published, as audit records it: not when this attempt was made.
    const { event } = await acme.clients.audit.getEvent({
      tenantId: acme.id,
      eventId: String(request.headers["webhook-id"]),
    });
    expect(envelope.timestamp).toBe(event?.createTime ? timestampDate(event.createTime).toISOString() : "");
    // The publisher's bytes are inside the envelope unchanged.
    expect(request.body.toString()).toContain(`"data":${payload.toString()}}`);
  });

  it("switches an endpoint to the envelope with UpdateEndpoint", async () => {
    await acme.clients.endpoints.updateEndpoint({
      tenantId: acme.id,
      endpointId: ids.signed,
      payloadFormat: PayloadFormat.ENVELOPE,
    });
    const wrapped = await eventually(async () => {
      const request = await delivered(signed, "order.updated", Buffer.from('{"id":"o_9"}'));
      return request.body.toString().startsWith('{"type":"order.updated"') ? request : undefined;
    });
    expect(JSON.parse(wrapped.body.toString()).data).toEqual({ id: "o_9" });
  });
});

describe("v1a private keys never leak", () => {
  it("stay out of logs, traces, attempts and every API answer", async () => {
    const privateKeys = await storedPrivateKeys();
    expect(privateKeys.length).toBeGreaterThanOrEqual(3);
    const spellings = privateKeys.flatMap((key) => {
      const bytes = Buffer.from(key.slice(5), "base64");
      return [key.slice(5), bytes.subarray(0, 32).toString("base64").slice(0, 40), bytes.toString("hex")];
    });
    // Audit writes attempt records in batches: wait for every delivery's.
    const attempts = await eventually(async () => {
      const page = await acme.clients.audit.listAttempts({ tenantId: acme.id, pageSize: 100 });
      return page.attempts.length >= 5 ? page.attempts : undefined;
    });
    const endpoints = await acme.clients.endpoints.listEndpoints({ tenantId: acme.id });
    const answers = JSON.stringify([attempts, endpoints], (_key, value) =>
      typeof value === "bigint" ? String(value) : value,
    );
    // Delivery's POST spans are exported: the check below looks at something.
    await eventually(async () => (otlp.spans.some((span) => span.name === "POST") ? true : undefined));
    const traces = JSON.stringify(otlp.spans);
    expect(traces).not.toContain("whsk_");
    for (const service of SERVICES) expect(stack.logs(service)).not.toContain("whsk_");
    expect(answers).not.toContain("whsk_");
    for (const spelling of spellings) {
      expect(answers).not.toContain(spelling);
      expect(traces).not.toContain(spelling);
      for (const service of SERVICES) expect(stack.logs(service)).not.toContain(spelling);
    }
  });
});
