import { Code } from "@connectrpc/connect";
import { PayloadFormat, SignatureScheme } from "@herald/contracts";
import type { EndpointDocument } from "@herald/platform/model";
import { SecretBox, signingSecrets } from "@herald/platform/model";
import { TEST_ADMIN_KEY } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { msToDuration } from "./fields.js";
import { type ControlPlaneClients, failure, RoutingUnderTest, statusOf } from "./routing.test-support.js";

// Every line the service logs, whatever the level: runService has no logger hook, so the platform's
// createLogger is wrapped to write here.
const logLines = vi.hoisted(() => [] as string[]);
vi.mock("../../../../libs/platform/src/logger.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("@herald/platform")>();
  return {
    ...original,
    createLogger: (options: Parameters<typeof original.createLogger>[0]) =>
      original.createLogger({
        ...options,
        destination: { write: (line: string) => void logLines.push(line) },
      }),
  };
});

let routing: RoutingUnderTest;
let api: ControlPlaneClients;
let box: SecretBox;
const tenantId = "vault";
const url = "http://127.0.0.1:8080/hooks";
/** Every secret value seen in the test, to look for afterwards in logs and stored documents. */
const secretsSeen = new Set<string>();
/** Custom header values set in the test, to look for in logs. */
const headerValues: string[] = [];

function remember(secret: string): string {
  secretsSeen.add(secret);
  return secret;
}

/** The ways a secret could show in text: as given, its key in base64 with and without padding, in hex. */
function spellings(secret: string): string[] {
  const key = secret.replace(/^(whsec_|whsk_)/, "");
  return [secret, key, key.replace(/=+$/, ""), Buffer.from(key, "base64").toString("hex")];
}

async function storedEndpoint(id: string): Promise<EndpointDocument> {
  const doc = await (await routing.db()).collection<EndpointDocument>("endpoints").findOne({ _id: id });
  if (!doc) throw new Error(`endpoint ${id} not stored`);
  return doc;
}

async function secretsOf(endpointId: string): Promise<string[]> {
  const { secrets } = await api.endpoints.getEndpointSecret({ tenantId, endpointId });
  // v1a entries carry no secret: their private key is never returned.
  return secrets.map((s) => (s.secret === "" ? "" : remember(s.secret)));
}

beforeAll(async () => {
  routing = await RoutingUnderTest.start({ LOG_LEVEL: "trace" });
  box = new SecretBox(routing.env.HERALD_SECRET_KEYS as string);
  api = routing.admin();
  await api.tenants.createTenant({ tenantId, name: "Vault" });
});

afterAll(async () => {
  await routing?.stop();
});

describe("endpoint secrets", () => {
  it("generates a Standard Webhooks secret and returns it only from GetEndpointSecret", async () => {
    const { endpoint } = await api.endpoints.createEndpoint({ tenantId, url });
    const [secret, ...others] = await secretsOf(endpoint?.id ?? "");
    expect(others).toEqual([]);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret?.slice(6) ?? "", "base64")).toHaveLength(32);
    const { secrets } = await api.endpoints.getEndpointSecret({ tenantId, endpointId: endpoint?.id ?? "" });
    expect(secrets[0]?.id).toBe(endpoint?.secrets[0]?.id);
    expect(secrets[0]?.expireTime).toBeUndefined();
  });

  it("stores secrets only sealed", async () => {
    const supplied = remember(`whsec_${Buffer.alloc(32, 0x5a).toString("base64")}`);
    const { endpoint } = await api.endpoints.createEndpoint({ tenantId, url, secret: supplied });
    expect(await secretsOf(endpoint?.id ?? "")).toEqual([supplied]);
    const stored = await storedEndpoint(endpoint?.id ?? "");
    const raw = JSON.stringify(stored);
    expect(raw).not.toContain("whsec_");
    for (const spelling of spellings(supplied)) expect(raw).not.toContain(spelling);
    expect(stored.secrets[0]?.sealed).toMatch(/^v1:test1:/);
    expect(box.open(stored.secrets[0]?.sealed ?? "")).toBe(supplied);
  });

  it("accepts a supplied secret without the prefix and stores it with one", async () => {
    const key = Buffer.alloc(48, 0x11).toString("base64");
    const { endpoint } = await api.endpoints.createEndpoint({ tenantId, url, secret: key });
    expect(await secretsOf(endpoint?.id ?? "")).toEqual([remember(`whsec_${key}`)]);
  });

  it("refuses malformed supplied secrets without repeating them", async () => {
    const endpointId = (await api.endpoints.createEndpoint({ tenantId, url })).endpoint?.id ?? "";
    for (const bad of [
      remember(`whsec_${Buffer.alloc(16, 0x33).toString("base64")}`),
      remember(`whsec_${Buffer.alloc(32, 0x44).toString("base64url")}_`),
    ]) {
      for (const call of [
        () => api.endpoints.createEndpoint({ tenantId, url, secret: bad }),
        () => api.endpoints.rotateSecret({ tenantId, endpointId, secret: bad }),
      ]) {
        const err = await failure(call());
        expect(err.code).toBe(Code.InvalidArgument);
        expect(err.rawMessage).toMatch(/^secret: /);
        for (const spelling of spellings(bad)) expect(err.rawMessage).not.toContain(spelling);
      }
    }
  });

  it("keeps both secrets valid through the rotation overlap, then only the new one", async () => {
    const endpointId = (await api.endpoints.createEndpoint({ tenantId, url })).endpoint?.id ?? "";
    const [first] = await secretsOf(endpointId);
    const second = remember(`whsec_${Buffer.alloc(32, 0x77).toString("base64")}`);
    const rotatedAt = Date.now();
    const { endpoint } = await api.endpoints.rotateSecret({
      tenantId,
      endpointId,
      secret: second,
      overlap: msToDuration(1_000),
    });
    expect(endpoint?.secrets).toHaveLength(2);
    expect(endpoint?.secrets[0]?.expireTime).toBeUndefined();
    const overlapEnd = Number(endpoint?.secrets[1]?.expireTime?.seconds ?? 0) * 1_000;
    expect(Math.abs(overlapEnd - (rotatedAt + 1_000))).toBeLessThan(2_000);

    expect(await secretsOf(endpointId)).toEqual([second, first]);
    const stored = await storedEndpoint(endpointId);
    expect(signingSecrets(stored, box, new Date())).toEqual([second, first]);
    const expiry = stored.secrets[1]?.expire_time as Date;
    expect(signingSecrets(stored, box, new Date(expiry.getTime() + 1))).toEqual([second]);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiry.getTime() - Date.now() + 50)));
    expect(await secretsOf(endpointId)).toEqual([second]);
    expect((await api.endpoints.getEndpoint({ tenantId, endpointId })).endpoint?.secrets).toHaveLength(1);
    expect(signingSecrets(await storedEndpoint(endpointId), box, new Date())).toEqual([second]);

    // The next write drops the expired secret from the document.
    await api.endpoints.rotateSecret({ tenantId, endpointId });
    const after = await storedEndpoint(endpointId);
    expect(after.secrets).toHaveLength(2);
    expect(after.secrets[1]?.expire_time?.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(after.secrets.map((s) => box.open(s.sealed))[1]).toBe(second);
    (await secretsOf(endpointId)).forEach(remember);
  });

  it("ends the old secret at once with a 0s overlap and refuses overlaps over 7 days", async () => {
    const endpointId = (await api.endpoints.createEndpoint({ tenantId, url })).endpoint?.id ?? "";
    await secretsOf(endpointId);
    const { endpoint } = await api.endpoints.rotateSecret({ tenantId, endpointId, overlap: msToDuration(0) });
    expect(endpoint?.secrets).toHaveLength(1);
    expect((await storedEndpoint(endpointId)).secrets).toHaveLength(1);
    await secretsOf(endpointId);
    const tooLong = await failure(
      api.endpoints.rotateSecret({ tenantId, endpointId, overlap: msToDuration(7 * 86_400_000 + 1_000) }),
    );
    expect([tooLong.code, tooLong.rawMessage]).toEqual([
      Code.InvalidArgument,
      "overlap: must be at most 7 days (604800s); 0s ends the old secret now",
    ]);
  });

  it("loses no rotation when several race on one endpoint", async () => {
    const endpointId = (await api.endpoints.createEndpoint({ tenantId, url })).endpoint?.id ?? "";
    await Promise.all(
      [1, 2, 3].map(() =>
        api.endpoints.rotateSecret({ tenantId, endpointId, overlap: msToDuration(3_600_000) }),
      ),
    );
    const secrets = await secretsOf(endpointId);
    expect(secrets).toHaveLength(4);
    expect(new Set(secrets).size).toBe(4);
  });

  it("handles custom headers as secrets: sealed at rest, never returned, never logged", async () => {
    const value = `Bearer header-${Buffer.alloc(12, 0x33).toString("hex")}`;
    const updated = `Bearer header-${Buffer.alloc(12, 0x44).toString("hex")}`;
    headerValues.push(value, updated);
    const { endpoint } = await api.endpoints.createEndpoint({
      tenantId,
      url,
      headers: { Authorization: value },
    });
    const endpointId = endpoint?.id ?? "";
    const answers = [endpoint];
    answers.push((await api.endpoints.getEndpoint({ tenantId, endpointId })).endpoint);
    answers.push(
      (
        await api.endpoints.updateEndpoint({
          tenantId,
          endpointId,
          headers: { entries: { Authorization: updated } },
        })
      ).endpoint,
    );
    answers.push(...(await api.endpoints.listEndpoints({ tenantId })).endpoints);
    for (const answer of answers) expect(JSON.stringify(answer?.headers ?? {})).not.toMatch(/header-/);
    expect(JSON.stringify(await storedEndpoint(endpointId))).not.toContain("header-");
  });

  it("generates a v1a key pair: the public key readable everywhere, the private key only sealed", async () => {
    const { endpoint } = await api.endpoints.createEndpoint({
      tenantId,
      url,
      signatureScheme: SignatureScheme.V1A,
    });
    const endpointId = endpoint?.id ?? "";
    expect(endpoint?.signatureScheme).toBe(SignatureScheme.V1A);
    const publicKey = endpoint?.secrets[0]?.publicKey ?? "";
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint?.secrets[0]?.scheme).toBe(SignatureScheme.V1A);
    const read = (await api.endpoints.getEndpoint({ tenantId, endpointId })).endpoint;
    expect(read?.secrets[0]?.publicKey).toBe(publicKey);
    const { secrets } = await api.endpoints.getEndpointSecret({ tenantId, endpointId });
    expect(secrets.map((s) => [s.secret, s.publicKey, s.scheme])).toEqual([
      ["", publicKey, SignatureScheme.V1A],
    ]);
    const stored = await storedEndpoint(endpointId);
    const privateKey = remember(box.open(stored.secrets[0]?.sealed ?? ""));
    expect(privateKey).toMatch(/^whsk_/);
    expect(Buffer.from(privateKey.slice(5), "base64").subarray(32).toString("base64")).toBe(
      publicKey.slice(5),
    );
    const raw = JSON.stringify(stored);
    for (const spelling of spellings(privateKey)) expect(raw).not.toContain(spelling);
    expect(
      JSON.stringify([endpoint, read, secrets], (_key, value) =>
        typeof value === "bigint" ? String(value) : value,
      ),
    ).not.toContain(privateKey.slice(5, 40));
  });

  it("rotates v1 to v1a with both valid through the overlap, and keeps v1a on later rotations", async () => {
    const endpointId = (await api.endpoints.createEndpoint({ tenantId, url })).endpoint?.id ?? "";
    const [first] = await secretsOf(endpointId);
    const { endpoint } = await api.endpoints.rotateSecret({
      tenantId,
      endpointId,
      signatureScheme: SignatureScheme.V1A,
      overlap: msToDuration(3_600_000),
    });
    expect(endpoint?.signatureScheme).toBe(SignatureScheme.V1A);
    expect(endpoint?.secrets.map((s) => s.scheme)).toEqual([SignatureScheme.V1A, SignatureScheme.V1]);
    expect(await secretsOf(endpointId)).toEqual(["", first]);
    const signing = signingSecrets(await storedEndpoint(endpointId), box, new Date());
    expect(signing.map((s) => s.slice(0, 5))).toEqual(["whsk_", "whsec"]);
    remember(signing[0] ?? "");
    // Unspecified keeps the current scheme.
    const again = await api.endpoints.rotateSecret({ tenantId, endpointId, overlap: msToDuration(0) });
    expect(again.endpoint?.secrets.map((s) => s.scheme)).toEqual([SignatureScheme.V1A]);
    expect(again.endpoint?.secrets[0]?.publicKey).not.toBe(endpoint?.secrets[0]?.publicKey);
    remember(signingSecrets(await storedEndpoint(endpointId), box, new Date())[0] ?? "");
  });

  it("refuses bad scheme and format input with INVALID_ARGUMENT, writing nothing", async () => {
    const before = (await api.endpoints.listEndpoints({ tenantId, pageSize: 1000 })).endpoints.length;
    const endpointId = (await api.endpoints.createEndpoint({ tenantId, url })).endpoint?.id ?? "";
    const stored = await storedEndpoint(endpointId);
    const supplied = remember(`whsec_${Buffer.alloc(32, 0x61).toString("base64")}`);
    for (const [call, message] of [
      [
        api.endpoints.createEndpoint({ tenantId, url, signatureScheme: 5 as SignatureScheme }),
        /^signature_scheme: 5 is not a signature scheme/,
      ],
      [
        api.endpoints.createEndpoint({ tenantId, url, payloadFormat: 4 as PayloadFormat }),
        /^payload_format: 4 is not a payload format/,
      ],
      [
        api.endpoints.createEndpoint({
          tenantId,
          url,
          signatureScheme: SignatureScheme.V1A,
          secret: supplied,
        }),
        /^secret: must be empty with SIGNATURE_SCHEME_V1A/,
      ],
      [
        api.endpoints.rotateSecret({ tenantId, endpointId, signatureScheme: 9 as SignatureScheme }),
        /^signature_scheme: 9 is not a signature scheme/,
      ],
      [
        api.endpoints.rotateSecret({
          tenantId,
          endpointId,
          signatureScheme: SignatureScheme.V1A,
          secret: supplied,
        }),
        /^secret: must be empty with SIGNATURE_SCHEME_V1A/,
      ],
      [
        api.endpoints.updateEndpoint({ tenantId, endpointId, payloadFormat: 7 as PayloadFormat }),
        /^payload_format: 7 is not a payload format/,
      ],
    ] as const) {
      const err = await failure(call);
      expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, expect.stringMatching(message)]);
      expect(err.rawMessage).not.toContain(supplied.slice(6));
    }
    expect((await api.endpoints.listEndpoints({ tenantId, pageSize: 1000 })).endpoints).toHaveLength(
      before + 1,
    );
    expect(await storedEndpoint(endpointId)).toEqual(stored);
  });

  it("switches the payload format with UpdateEndpoint, raw being the field's absence", async () => {
    const { endpoint } = await api.endpoints.createEndpoint({
      tenantId,
      url,
      payloadFormat: PayloadFormat.ENVELOPE,
    });
    const endpointId = endpoint?.id ?? "";
    expect(endpoint?.payloadFormat).toBe(PayloadFormat.ENVELOPE);
    expect((await storedEndpoint(endpointId)).payload_format).toBe("envelope");
    const raw = await api.endpoints.updateEndpoint({
      tenantId,
      endpointId,
      payloadFormat: PayloadFormat.RAW,
    });
    expect(raw.endpoint?.payloadFormat).toBe(PayloadFormat.RAW);
    expect(await storedEndpoint(endpointId)).not.toHaveProperty("payload_format");
    const kept = await api.endpoints.updateEndpoint({ tenantId, endpointId, description: "d" });
    expect(kept.endpoint?.payloadFormat).toBe(PayloadFormat.RAW);
  });

  it("takes the scheme and format as enum names in Connect JSON, as curl sends them, refusing unknown names", async () => {
    const call = (body: object) =>
      fetch(`http://127.0.0.1:${routing.port()}/herald.v1.EndpointService/CreateEndpoint`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify({ tenantId, url, ...body }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
    const created = await call({
      signatureScheme: "SIGNATURE_SCHEME_V1A",
      payloadFormat: "PAYLOAD_FORMAT_ENVELOPE",
    });
    expect(created.status).toBe(200);
    expect(created.body.endpoint).toMatchObject({
      signatureScheme: "SIGNATURE_SCHEME_V1A",
      payloadFormat: "PAYLOAD_FORMAT_ENVELOPE",
      secrets: [{ scheme: "SIGNATURE_SCHEME_V1A", publicKey: expect.stringMatching(/^whpk_/) }],
    });
    const unknownNumber = await call({ payloadFormat: 9 });
    expect([unknownNumber.status, unknownNumber.body]).toEqual([
      400,
      {
        code: "invalid_argument",
        message: expect.stringMatching(/^payload_format: 9 is not a payload format/),
      },
    ]);
    // An unknown name is refused too, naming the field and the accepted names, and nothing is created;
    // an unknown field is still ignored (forward compatibility, docs/decisions/event-type-header.md).
    const before = await api.endpoints.listEndpoints({ tenantId });
    const unknownName = await call({ signatureScheme: "SIGNATURE_SCHEME_V9" });
    expect([unknownName.status, unknownName.body]).toEqual([
      400,
      {
        code: "invalid_argument",
        message:
          'signature_scheme: "SIGNATURE_SCHEME_V9" is not a herald.v1.SignatureScheme name; accepted: ' +
          "SIGNATURE_SCHEME_UNSPECIFIED, SIGNATURE_SCHEME_V1, SIGNATURE_SCHEME_V1A",
      },
    ]);
    const snakeCase = await call({ payload_format: "ENVELOPE" });
    expect(snakeCase.status).toBe(400);
    expect(snakeCase.body.message).toMatch(
      /^payload_format: "ENVELOPE" is not a herald\.v1\.PayloadFormat name; accepted: PAYLOAD_FORMAT_UNSPECIFIED, /,
    );
    expect((await api.endpoints.listEndpoints({ tenantId })).endpoints).toHaveLength(before.endpoints.length);
    // Checked after authentication: a caller without a key learns nothing about the request.
    const anonymous = await fetch(
      `http://127.0.0.1:${routing.port()}/herald.v1.EndpointService/CreateEndpoint`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tenantId, url, signatureScheme: "SIGNATURE_SCHEME_V9" }),
      },
    );
    expect(anonymous.status).toBe(401);
    const newerClient = await call({ signatureScheme: "SIGNATURE_SCHEME_V1", someFieldFromTheFuture: "x" });
    expect(newerClient.status).toBe(200);
    // A caller's own problem header is dropped, not taken for the check's.
    const forged = await fetch(
      `http://127.0.0.1:${routing.port()}/herald.v1.EndpointService/CreateEndpoint`,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${TEST_ADMIN_KEY}`,
          "x-herald-unknown-enum-name": "forged",
        },
        body: JSON.stringify({ tenantId, url }),
      },
    );
    expect(forged.status).toBe(200);
  });

  it("answers NOT_FOUND for unknown endpoints", async () => {
    expect(await statusOf(api.endpoints.rotateSecret({ tenantId, endpointId: "ep_nope" }))).toBe("NotFound");
    expect(await statusOf(api.endpoints.getEndpointSecret({ tenantId, endpointId: "ep_nope" }))).toBe(
      "NotFound",
    );
  });

  it("never logs a secret", async () => {
    // The capture works: the service logged its start and each control change.
    expect(logLines.some((line) => line.includes("routing listening"))).toBe(true);
    expect(logLines.some((line) => line.includes("control change"))).toBe(true);
    expect(secretsSeen.size).toBeGreaterThanOrEqual(10);
    const log = logLines.join("");
    expect(log).not.toContain("whsec_");
    expect(log).not.toContain("whsk_");
    for (const secret of secretsSeen)
      for (const spelling of spellings(secret)) expect(log).not.toContain(spelling);
    expect(headerValues).toHaveLength(2);
    for (const value of headerValues) expect(log).not.toContain(value.slice("Bearer ".length));
  });
});
