import { generateKeyPairSync, sign as signEd25519 } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { WebhookVerificationError } from "./errors.js";
import type { WebhookHeaders } from "./headers.js";
import type { WebhookSecret } from "./secrets.js";
import type { WebhookPayload } from "./signed-message.js";
import { type VerifyOptions, Webhook, type WebhookOptions } from "./webhook.js";

// The Standard Webhooks reference vector.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP = 1614265330;
const PAYLOAD = '{"test": 2432232314}';
const SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const AT_VECTOR_TIME = { now: () => TIMESTAMP * 1000 };
const OTHER_SECRET = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=";

function vectorHeaders(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    "webhook-id": MSG_ID,
    "webhook-timestamp": String(TIMESTAMP),
    "webhook-signature": SIGNATURE,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Record<
    string,
    string
  >;
}

type Outcome = { value: unknown } | { code: string };

async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    return { value: await run() };
  } catch (error) {
    if (error instanceof WebhookVerificationError) return { code: error.code };
    throw error;
  }
}

interface VerifyCase {
  name: string;
  secret?: WebhookSecret | WebhookSecret[];
  options?: WebhookOptions;
  payload?: WebhookPayload;
  headers?: WebhookHeaders;
  verifyOptions?: VerifyOptions;
  expected: Outcome;
}

const PARSED = { value: { test: 2432232314 } };
const partialSignature = SIGNATURE.slice(0, 8);

// The negative cases of the standardwebhooks and svix reference suites, and the ones this package adds.
const cases: VerifyCase[] = [
  { name: "the reference vector", expected: PARSED },
  { name: "the secret without the whsec_ prefix", secret: SECRET.slice("whsec_".length), expected: PARSED },
  {
    name: "a missing webhook-id",
    headers: vectorHeaders({ "webhook-id": undefined }),
    expected: { code: "missing_header" },
  },
  {
    name: "a missing webhook-timestamp",
    headers: vectorHeaders({ "webhook-timestamp": undefined }),
    expected: { code: "missing_header" },
  },
  {
    name: "a missing webhook-signature",
    headers: vectorHeaders({ "webhook-signature": undefined }),
    expected: { code: "missing_header" },
  },
  {
    name: "an empty webhook-id",
    headers: vectorHeaders({ "webhook-id": "" }),
    expected: { code: "missing_header" },
  },
  {
    name: "a non-numeric timestamp",
    headers: vectorHeaders({ "webhook-timestamp": "hello" }),
    expected: { code: "invalid_timestamp" },
  },
  {
    name: "a timestamp with trailing letters (parseInt would accept it)",
    headers: vectorHeaders({ "webhook-timestamp": `${TIMESTAMP}abc` }),
    expected: { code: "invalid_timestamp" },
  },
  {
    name: "a negative timestamp",
    headers: vectorHeaders({ "webhook-timestamp": "-5" }),
    expected: { code: "invalid_timestamp" },
  },
  {
    name: "a fractional timestamp",
    headers: vectorHeaders({ "webhook-timestamp": `${TIMESTAMP}.5` }),
    expected: { code: "invalid_timestamp" },
  },
  {
    name: "a timestamp older than the tolerance",
    options: { now: () => (TIMESTAMP + 301) * 1000 },
    expected: { code: "timestamp_too_old" },
  },
  {
    name: "a timestamp newer than the tolerance",
    options: { now: () => (TIMESTAMP - 301) * 1000 },
    expected: { code: "timestamp_too_new" },
  },
  {
    name: "a timestamp exactly at the tolerance",
    options: { now: () => (TIMESTAMP + 300) * 1000 },
    expected: PARSED,
  },
  {
    name: "a custom tolerance",
    options: { now: () => (TIMESTAMP + 11) * 1000, toleranceSeconds: 10 },
    expected: { code: "timestamp_too_old" },
  },
  {
    name: "an invalid signature",
    headers: vectorHeaders({ "webhook-signature": "v1,dawfeoifkpqwoekfpqoekf" }),
    expected: { code: "no_matching_signature" },
  },
  {
    name: "a partial signature",
    headers: vectorHeaders({ "webhook-signature": partialSignature }),
    expected: { code: "no_matching_signature" },
  },
  {
    name: "an empty v1 signature",
    headers: vectorHeaders({ "webhook-signature": "v1," }),
    expected: { code: "no_matching_signature" },
  },
  {
    name: "several signatures, one valid",
    headers: vectorHeaders({
      "webhook-signature": [
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        `v2,${SIGNATURE.slice(3)}`,
        SIGNATURE,
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
      ].join(" "),
    }),
    expected: PARSED,
  },
  {
    name: "a valid signature under a version other than v1",
    headers: vectorHeaders({ "webhook-signature": `v2,${SIGNATURE.slice(3)}` }),
    expected: { code: "no_matching_signature" },
  },
  { name: "the wrong secret", secret: OTHER_SECRET, expected: { code: "no_matching_signature" } },
  { name: "rotation: the old and the new secret", secret: [OTHER_SECRET, SECRET], expected: PARSED },
  {
    name: "a modified payload",
    payload: '{"test": 2432232315}',
    expected: { code: "no_matching_signature" },
  },
  {
    name: "re-serialised JSON",
    payload: JSON.stringify(JSON.parse(PAYLOAD)),
    expected: { code: "no_matching_signature" },
  },
  { name: "jsonParse: false", verifyOptions: { jsonParse: false }, expected: { value: undefined } },
  { name: "the payload as a Buffer", payload: Buffer.from(PAYLOAD), expected: PARSED },
  { name: "the payload as a Uint8Array", payload: new TextEncoder().encode(PAYLOAD), expected: PARSED },
  {
    name: "the payload as an ArrayBuffer",
    payload: new TextEncoder().encode(PAYLOAD).buffer as ArrayBuffer,
    expected: PARSED,
  },
  {
    name: "header names in upper case",
    headers: Object.fromEntries(
      Object.entries(vectorHeaders()).map(([name, value]) => [name.toUpperCase(), value]),
    ),
    expected: PARSED,
  },
  { name: "Fetch Headers", headers: new Headers(vectorHeaders()), expected: PARSED },
  {
    name: "Node headers with array values",
    headers: { ...vectorHeaders(), "webhook-signature": ["v1,bm90IGl0", SIGNATURE] },
    expected: PARSED,
  },
  {
    name: "a repeated header joined with a comma",
    headers: vectorHeaders({ "webhook-signature": `v1,bm90IGl0, ${SIGNATURE}` }),
    expected: PARSED,
  },
];

const verifiers = [
  [
    "verify (node:crypto)",
    (webhook: Webhook, c: VerifyCase) => webhook.verify(payloadOf(c), headersOf(c), c.verifyOptions),
  ],
  [
    "verifyAsync (Web Crypto)",
    (webhook: Webhook, c: VerifyCase) => webhook.verifyAsync(payloadOf(c), headersOf(c), c.verifyOptions),
  ],
] as const;

function payloadOf(c: VerifyCase): WebhookPayload {
  return c.payload ?? PAYLOAD;
}

function headersOf(c: VerifyCase): WebhookHeaders {
  return c.headers ?? vectorHeaders();
}

describe("Webhook.verify and Webhook.verifyAsync agree on every case", () => {
  it.each(cases)("$name", async (c) => {
    const webhook = new Webhook(c.secret ?? SECRET, { ...AT_VECTOR_TIME, ...c.options });
    const results = [];
    for (const [, verify] of verifiers) results.push(await outcome(() => verify(webhook, c)));
    expect(results).toEqual([c.expected, c.expected]);
  });
});

describe("Webhook.sign", () => {
  it("produces the reference signature, with and without the whsec_ prefix", () => {
    for (const secret of [SECRET, SECRET.slice("whsec_".length)]) {
      expect(new Webhook(secret).sign(MSG_ID, new Date(TIMESTAMP * 1000), PAYLOAD)).toBe(SIGNATURE);
    }
  });

  it("gives the same on Web Crypto", async () => {
    expect(await new Webhook(SECRET).signAsync(MSG_ID, new Date(TIMESTAMP * 1000), PAYLOAD)).toBe(SIGNATURE);
  });

  it("signs with every secret during a rotation, each verifiable alone", () => {
    const header = new Webhook([SECRET, OTHER_SECRET]).sign(MSG_ID, new Date(TIMESTAMP * 1000), PAYLOAD);
    expect(header.split(" ")).toHaveLength(2);
    expect(header.startsWith(`${SIGNATURE} v1,`)).toBe(true);
    const headers = vectorHeaders({ "webhook-signature": header.split(" ")[1] });
    expect(new Webhook(OTHER_SECRET, AT_VECTOR_TIME).verify(PAYLOAD, headers)).toEqual(PARSED.value);
  });

  it("signs and verifies the exact bytes, even when they are not UTF-8", async () => {
    const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x7b]);
    const webhook = new Webhook(SECRET, AT_VECTOR_TIME);
    const signature = webhook.sign(MSG_ID, new Date(TIMESTAMP * 1000), bytes);
    const headers = vectorHeaders({ "webhook-signature": signature });
    expect(webhook.verify(bytes, headers, { jsonParse: false })).toBeUndefined();
    await expect(webhook.verifyAsync(bytes, headers, { jsonParse: false })).resolves.toBeUndefined();
    // Decoding to text replaces the invalid bytes, so the text is not what was signed.
    expect(() => webhook.verify(Buffer.from(bytes).toString(), headers, { jsonParse: false })).toThrow(
      WebhookVerificationError,
    );
  });

  it("refuses to sign with only a public key", () => {
    const webhook = new Webhook(ed25519KeyPair().publicKey);
    expect(() => webhook.sign(MSG_ID, new Date(), PAYLOAD)).toThrow(
      expect.objectContaining({ code: "invalid_secret" }),
    );
  });
});

describe("compatibility with standardwebhooks and svix", () => {
  const now = new Date();
  const headersFor = (signature: string) => ({
    "webhook-id": MSG_ID,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": signature,
  });

  it("verifies what standardwebhooks and svix sign", () => {
    for (const other of [new StandardWebhook(SECRET), new SvixWebhook(SECRET)]) {
      const headers = headersFor(other.sign(MSG_ID, now, PAYLOAD));
      expect(new Webhook(SECRET).verify(PAYLOAD, headers)).toEqual(PARSED.value);
    }
  });

  it("signs what standardwebhooks and svix verify", () => {
    const headers = headersFor(new Webhook(SECRET).sign(MSG_ID, now, PAYLOAD));
    expect(new StandardWebhook(SECRET).verify(PAYLOAD, headers)).toEqual(PARSED.value);
    expect(() => new SvixWebhook(SECRET).verify(PAYLOAD, headers)).not.toThrow();
    expect(() => new StandardWebhook(OTHER_SECRET).verify(PAYLOAD, headers)).toThrow();
  });

  it('takes format: "raw" secrets as standardwebhooks does', () => {
    const raw = "a raw secret of some length";
    const headers = headersFor(new StandardWebhook(raw, { format: "raw" }).sign(MSG_ID, now, PAYLOAD));
    expect(new Webhook(raw, { format: "raw" }).verify(PAYLOAD, headers)).toEqual(PARSED.value);
    expect(new Webhook(new TextEncoder().encode(raw)).verify(PAYLOAD, headers)).toEqual(PARSED.value);
  });

  it("returns undefined for an empty payload, as standardwebhooks does", () => {
    const headers = headersFor(new StandardWebhook(SECRET).sign(MSG_ID, now, ""));
    expect(new StandardWebhook(SECRET).verify("", headers)).toBeUndefined();
    expect(new Webhook(SECRET).verify("", headers)).toBeUndefined();
  });
});

function ed25519KeyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const x = publicKey.export({ format: "jwk" }).x ?? "";
  return { publicKey: `whpk_${Buffer.from(x, "base64url").toString("base64")}`, privateKey };
}

describe("ed25519 (v1a) signatures", () => {
  const keys = ed25519KeyPair();
  const signedContent = `${MSG_ID}.${TIMESTAMP}.${PAYLOAD}`;
  const v1a = `v1a,${signEd25519(null, Buffer.from(signedContent), keys.privateKey).toString("base64")}`;

  it.each(verifiers)("%s verifies with the whpk_ public key", async (_name, verify) => {
    const accepted: VerifyCase = {
      name: "v1a",
      headers: vectorHeaders({ "webhook-signature": v1a }),
      expected: PARSED,
    };
    expect(await outcome(() => verify(new Webhook(keys.publicKey, AT_VECTOR_TIME), accepted))).toEqual(
      PARSED,
    );
    const mixed = new Webhook([OTHER_SECRET, keys.publicKey], AT_VECTOR_TIME);
    const both = { ...accepted, headers: vectorHeaders({ "webhook-signature": `${SIGNATURE} ${v1a}` }) };
    expect(await outcome(() => verify(mixed, both))).toEqual(PARSED);
    const otherKey = new Webhook(ed25519KeyPair().publicKey, AT_VECTOR_TIME);
    expect(await outcome(() => verify(otherKey, accepted))).toEqual({ code: "no_matching_signature" });
    const tampered = { ...accepted, payload: '{"test": 1}' };
    expect(await outcome(() => verify(new Webhook(keys.publicKey, AT_VECTOR_TIME), tampered))).toEqual({
      code: "no_matching_signature",
    });
  });

  it("says which kind of key is missing", () => {
    const publicOnly = new Webhook(keys.publicKey, AT_VECTOR_TIME);
    expect(() => publicOnly.verify(PAYLOAD, vectorHeaders())).toThrow(/only whpk_ public keys/);
    const secretOnly = new Webhook(SECRET, AT_VECTOR_TIME);
    expect(() => secretOnly.verify(PAYLOAD, vectorHeaders({ "webhook-signature": v1a }))).toThrow(
      /no whpk_ public key/,
    );
  });
});

describe("secrets", () => {
  it.each([
    ["an empty string", ""],
    ["whsec_ alone", "whsec_"],
    ["undefined", undefined],
    ["null", null],
    ["an empty list", []],
    ["a secret shorter than 16 bytes", "whsec_c2hvcnQ="],
    ["a secret that is not base64", "whsec_not base64!"],
    ["a raw secret shorter than 16 bytes", "short"],
    ["a whpk_ key of the wrong length", "whpk_c2hvcnQ="],
  ])("rejects %s at construction", (_name, secret) => {
    const options: WebhookOptions = secret === "short" ? { format: "raw" } : {};
    let error: unknown;
    try {
      new Webhook(secret as WebhookSecret, options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(error).toMatchObject({ code: "invalid_secret" });
    if (typeof secret === "string" && secret.length > 6) {
      expect((error as Error).message).not.toContain(secret.slice(6));
    }
  });

  it("names the bad secret by position, never by value", () => {
    expect(() => new Webhook([SECRET, "whsec_bm9wZQ=="])).toThrow(/^Secret 2 of 2 is 4 bytes/);
  });

  it("rejects a negative tolerance", () => {
    expect(() => new Webhook(SECRET, { toleranceSeconds: -1 })).toThrow(RangeError);
  });
});

describe("errors", () => {
  it("are WebhookVerificationError with a code, a name and a hint", () => {
    const webhook = new Webhook(OTHER_SECRET, AT_VECTOR_TIME);
    let error: unknown;
    try {
      webhook.verify(PAYLOAD, vectorHeaders());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "WebhookVerificationError", code: "no_matching_signature" });
    expect((error as Error).message).toMatch(/pass the raw request body/);
    expect((error as Error).message).not.toContain(OTHER_SECRET.slice(6));
  });

  it("tell the caller to pass the raw body when given parsed JSON", () => {
    const webhook = new Webhook(SECRET, AT_VECTOR_TIME);
    const parsed = JSON.parse(PAYLOAD) as unknown as WebhookPayload;
    expect(() => webhook.verify(parsed, vectorHeaders())).toThrow(
      /Pass the raw request body, not parsed JSON/,
    );
  });

  it("report a valid signature over a non-JSON body as invalid_payload", async () => {
    const webhook = new Webhook(SECRET, AT_VECTOR_TIME);
    const signature = webhook.sign(MSG_ID, new Date(TIMESTAMP * 1000), "plain text");
    const headers = vectorHeaders({ "webhook-signature": signature });
    expect(await outcome(() => webhook.verify("plain text", headers))).toEqual({ code: "invalid_payload" });
    expect(await outcome(() => webhook.verifyAsync("plain text", headers))).toEqual({
      code: "invalid_payload",
    });
    expect(webhook.verify("plain text", headers, { jsonParse: false })).toBeUndefined();
  });
});
