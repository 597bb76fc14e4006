import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  CreateEndpointRequestSchema,
  EndpointTransport,
  PayloadFormat,
  SignatureScheme,
  UpdateEndpointRequestSchema,
} from "@herald/contracts";
import { describe, expect, it } from "vitest";
import {
  checkChannels,
  checkEventTypes,
  checkHeaders,
  parseEndpointPatch,
  parseNewEndpoint,
} from "./endpoint-input.js";
import { msToDuration } from "./fields.js";
import { problem } from "./input.test-support.js";

describe("event types", () => {
  it("accepts exact types, prefix wildcards and *, dropping duplicates", () => {
    expect(checkEventTypes("event_types", ["order.created", "order.*", "*", "a_b-c.d", "order.*"])).toEqual([
      "order.created",
      "order.*",
      "*",
      "a_b-c.d",
    ]);
    expect(checkEventTypes("event_types", [])).toEqual([]);
  });

  it.each([
    ["Order.Created", 0],
    ["", 0],
    [".*", 0],
    ["order.*.x", 0],
    ["order*", 0],
    ["a b", 0],
    ["x".repeat(129), 0],
  ])("refuses %j naming its index", (value) => {
    expect(problem(() => checkEventTypes("event_types", ["ok", "fine.*", value]))).toMatch(
      /^event_types\[2\]: .* is not an event type/,
    );
  });
});

describe("channels", () => {
  it("accepts up to 20 names of letters, digits, _ . -", () => {
    expect(checkChannels("channels", ["EU", "tier.gold", "a_b-1"])).toEqual(["EU", "tier.gold", "a_b-1"]);
    expect(problem(() => checkChannels("channels", ["ok", "no spaces"]))).toMatch(/^channels\[1\]: /);
    expect(problem(() => checkChannels("channels", ["x".repeat(65)]))).toMatch(/^channels\[0\]: /);
    const many = Array.from({ length: 21 }, (_, i) => `c${i}`);
    expect(problem(() => checkChannels("channels", many))).toMatch(/^channels: has 21 entries; at most 20/);
  });
});

describe("custom headers", () => {
  it("accepts ordinary headers, including authorization", () => {
    const headers = { Authorization: "Bearer abc", "X-Tenant": "acme", "x-empty": "" };
    expect(checkHeaders("headers", headers)).toEqual(headers);
  });

  it.each([
    "Host",
    "host",
    "Connection",
    "Keep-Alive",
    "Transfer-Encoding",
    "TE",
    "Trailer",
    "Upgrade",
    "Proxy-Authorization",
    "proxy-anything",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Webhook-Signature",
    "webhook-id",
    "webhook-anything",
  ])("refuses %s", (name) => {
    expect(problem(() => checkHeaders("headers", { [name]: "x" }))).toMatch(
      new RegExp(`^headers\\["${name}"\\]: may not be set`),
    );
  });

  it.each(["bad name", "X:Y", "X.Dot", "$x", "é", ""])("refuses the name %j", (name) => {
    expect(problem(() => checkHeaders("headers", { [name]: "x" }))).toMatch(/is not a valid header name/);
  });

  it.each(["a\r\nInjected: 1", "a\nb", "a\u0000b", "a\u0007b"])("refuses the value %j", (value) => {
    expect(problem(() => checkHeaders("headers", { "X-A": value }))).toBe(
      'headers["X-A"]: value must not contain CR, LF, NUL or other control characters',
    );
  });

  it("refuses names differing only in case, too many and too long", () => {
    expect(problem(() => checkHeaders("headers", { "X-A": "1", "x-a": "2" }))).toMatch(
      /^headers\["x-a"\]: names the same header as "X-A"/,
    );
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-${i}`, "v"]));
    expect(problem(() => checkHeaders("headers", many))).toMatch(/^headers: has 21 headers; at most 20/);
    expect(problem(() => checkHeaders("headers", { "X-A": "v".repeat(4097) }))).toMatch(/longer than 4096/);
  });
});

describe("parseNewEndpoint", () => {
  const valid = (init: MessageInitShape<typeof CreateEndpointRequestSchema> = {}) =>
    create(CreateEndpointRequestSchema, { tenantId: "t1", url: "https://example.com/hook", ...init });

  it("maps a request to the stored fields", () => {
    const parsed = parseNewEndpoint(
      valid({
        description: "orders",
        eventTypes: ["order.*"],
        channels: ["eu"],
        headers: { "X-A": "1" },
        rateLimitPerSecond: 10,
        maxConcurrency: 4,
        retrySchedule: { delays: [msToDuration(5_000), msToDuration(60_000)] },
      }),
    );
    expect(parsed).toEqual({
      url: "https://example.com/hook",
      transport: "http",
      description: "orders",
      event_types: ["order.*"],
      channels: ["eu"],
      headers: { "X-A": "1" },
      rate_limit_per_second: 10,
      max_concurrency: 4,
      retry_schedule_ms: [5_000, 60_000],
      payload_format: "raw",
      filter: "",
      signature_scheme: "v1",
      secret: undefined,
    });
  });

  it.each([
    [
      "a long description",
      { description: "d".repeat(501) },
      /^description: is 501 characters long; at most 500/,
    ],
    [
      "a rate limit over 10000",
      { rateLimitPerSecond: 10_001 },
      /^rate_limit_per_second: must be between 0 and 10000/,
    ],
    ["a concurrency over 1000", { maxConcurrency: 1_001 }, /^max_concurrency: must be between 0 and 1000/],
    [
      "a retry delay under 1s",
      { retrySchedule: { delays: [msToDuration(999)] } },
      /^retry_schedule\.delays\[0\]: must be between 1s and 24h/,
    ],
    [
      "a retry delay over 24h",
      { retrySchedule: { delays: [msToDuration(1_000), msToDuration(86_400_001)] } },
      /^retry_schedule\.delays\[1\]: /,
    ],
    [
      "21 retry delays",
      { retrySchedule: { delays: Array.from({ length: 21 }, () => msToDuration(1_000)) } },
      /^retry_schedule\.delays: has 21 delays; at most 20/,
    ],
    ["a malformed secret", { secret: "whsec_short" }, /^secret: /],
    [
      "a URL with the listen transport",
      { transport: EndpointTransport.LISTEN },
      /^url: must be empty with ENDPOINT_TRANSPORT_LISTEN/,
    ],
    ["an unknown transport", { transport: 7 as EndpointTransport }, /^transport: 7 is not a transport/],
  ])("refuses %s", (_, init, message) => {
    expect(problem(() => parseNewEndpoint(valid(init)))).toMatch(message);
  });
});

describe("a listen endpoint", () => {
  const valid = (init: MessageInitShape<typeof CreateEndpointRequestSchema> = {}) =>
    create(CreateEndpointRequestSchema, { tenantId: "t1", ...init });

  it("takes the listen transport with no URL, and the usual selection", () => {
    const parsed = parseNewEndpoint(
      valid({ url: "", transport: EndpointTransport.LISTEN, eventTypes: ["order.*"], filter: 'type != "x"' }),
    );
    expect(parsed).toMatchObject({ url: "", transport: "listen", event_types: ["order.*"] });
  });

  it("refuses a bad event type pattern as for any endpoint", () => {
    expect(
      problem(() =>
        parseNewEndpoint(valid({ url: "", transport: EndpointTransport.LISTEN, eventTypes: ["Order.*"] })),
      ),
    ).toMatch(/^event_types\[0\]: "Order\.\*" is not an event type/);
  });
});

describe("parseEndpointPatch", () => {
  it("keeps only the fields present, naming nested fields by their path", () => {
    expect(
      parseEndpointPatch(create(UpdateEndpointRequestSchema, { tenantId: "t", endpointId: "e" })),
    ).toEqual({});
    expect(
      parseEndpointPatch(
        create(UpdateEndpointRequestSchema, {
          description: "",
          eventTypes: { values: [] },
          rateLimitPerSecond: 0,
          retrySchedule: { delays: [] },
        }),
      ),
    ).toEqual({ description: "", event_types: [], rate_limit_per_second: 0, retry_schedule_ms: [] });
    expect(
      problem(() =>
        parseEndpointPatch(create(UpdateEndpointRequestSchema, { eventTypes: { values: ["A"] } })),
      ),
    ).toMatch(/^event_types\.values\[0\]: /);
    expect(
      problem(() =>
        parseEndpointPatch(create(UpdateEndpointRequestSchema, { headers: { entries: { Host: "x" } } })),
      ),
    ).toMatch(/^headers\.entries\["Host"\]: /);
  });
});

describe("signature scheme and payload format", () => {
  const base = { tenantId: "t1", url: "https://example.com/" };
  const parse = (init: MessageInitShape<typeof CreateEndpointRequestSchema>) =>
    parseNewEndpoint(create(CreateEndpointRequestSchema, { ...base, ...init }));

  it("defaults to v1 and the raw payload", () => {
    expect(parse({})).toMatchObject({ signature_scheme: "v1", payload_format: "raw", secret: undefined });
    expect(
      parse({ signatureScheme: SignatureScheme.V1A, payloadFormat: PayloadFormat.ENVELOPE }),
    ).toMatchObject({ signature_scheme: "v1a", payload_format: "envelope", secret: undefined });
    expect(parse({ payloadFormat: PayloadFormat.RAW }).payload_format).toBe("raw");
  });

  it("refuses unknown schemes and formats, naming the field and the choices", () => {
    expect(problem(() => parse({ signatureScheme: 7 as SignatureScheme }))).toBe(
      "signature_scheme: 7 is not a signature scheme: use SIGNATURE_SCHEME_V1 (HMAC-SHA256) or SIGNATURE_SCHEME_V1A (ed25519)",
    );
    expect(problem(() => parse({ payloadFormat: 3 as PayloadFormat }))).toMatch(
      /^payload_format: 3 is not a payload format: use PAYLOAD_FORMAT_RAW/,
    );
    expect(
      problem(() =>
        parseEndpointPatch(
          create(UpdateEndpointRequestSchema, {
            ...base,
            endpointId: "ep_1",
            payloadFormat: 9 as PayloadFormat,
          }),
        ),
      ),
    ).toMatch(/^payload_format: 9 is not a payload format/);
  });

  it("refuses a supplied secret with v1a, and v1a keys as secrets, without repeating them", () => {
    const secret = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;
    const v1a = problem(() => parse({ signatureScheme: SignatureScheme.V1A, secret }));
    expect(v1a).toMatch(/^secret: must be empty with SIGNATURE_SCHEME_V1A/);
    expect(v1a).not.toContain(secret.slice(6));
    const privateKey = `whsk_${Buffer.alloc(64, 2).toString("base64")}`;
    const supplied = problem(() => parse({ secret: privateKey }));
    expect(supplied).toMatch(/^secret: v1a keys cannot be supplied/);
    expect(supplied).not.toContain(privateKey.slice(5));
  });

  it("patches the payload format only when given", () => {
    const patch = (init: MessageInitShape<typeof UpdateEndpointRequestSchema>) =>
      parseEndpointPatch(create(UpdateEndpointRequestSchema, { ...base, endpointId: "ep_1", ...init }));
    expect(patch({})).not.toHaveProperty("payload_format");
    expect(patch({ payloadFormat: PayloadFormat.ENVELOPE }).payload_format).toBe("envelope");
    expect(patch({ payloadFormat: PayloadFormat.UNSPECIFIED }).payload_format).toBe("raw");
  });
});

describe("filter", () => {
  const base = { tenantId: "t1", url: "https://example.com/hook" };

  it("keeps a valid filter and drops a blank one", () => {
    expect(
      parseNewEndpoint(create(CreateEndpointRequestSchema, { ...base, filter: "payload.amount > 100" }))
        .filter,
    ).toBe("payload.amount > 100");
    expect(parseNewEndpoint(create(CreateEndpointRequestSchema, { ...base, filter: "  " })).filter).toBe("");
  });

  it("refuses an invalid filter with its position", () => {
    expect(
      problem(() =>
        parseNewEndpoint(create(CreateEndpointRequestSchema, { ...base, filter: "payload.amount >" })),
      ),
    ).toMatch(/^filter: .* at 1:\d+$/);
    expect(
      problem(() => parseEndpointPatch(create(UpdateEndpointRequestSchema, { filter: "amount > 1" }))),
    ).toBe('filter: undeclared reference to "amount": use type, channels, tenant_id or payload at 1:1');
  });

  it("patches the filter only when present; the empty string removes it", () => {
    expect(parseEndpointPatch(create(UpdateEndpointRequestSchema, {})).filter).toBeUndefined();
    expect(parseEndpointPatch(create(UpdateEndpointRequestSchema, { filter: "" })).filter).toBe("");
  });
});
