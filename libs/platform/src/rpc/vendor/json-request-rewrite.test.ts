import { fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { EndpointSchema, IngestService, PublishEventRequestSchema, TenantSchema } from "@herald/contracts";
import { describe, expect, it, vi } from "vitest";
import { onlyKnownFields, withJsonRequestRewrite } from "./json-request-rewrite.js";

/** What the method got: its body's text, or the parsed body it was handed. */
const seen: { text?: string; parsed?: unknown; header: Headers }[] = [];
const inner = Object.assign(
  async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const body = req.body as AsyncIterable<Uint8Array> | object;
    if (!(Symbol.asyncIterator in body)) {
      seen.push({ parsed: body, header: req.header });
      return { status: 200 };
    }
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    seen.push({ text: Buffer.concat(chunks).toString("utf8"), header: req.header });
    return { status: 200 };
  },
  { requestPath: "/herald.v1.IngestService/PublishEvent", method: IngestService.method.publishEvent },
) as unknown as UniversalHandler;

function request(body: string[], contentType = "application/json", extra: Record<string, string> = {}) {
  return {
    httpVersion: "1.1",
    method: "POST",
    url: "http://localhost/x.v1.S/M",
    header: new Headers({ "content-type": contentType, ...extra }),
    body: createAsyncIterable(body.map((s) => Buffer.from(s))),
    signal: new AbortController().signal,
  } as UniversalServerRequest;
}

async function last(res: Promise<UniversalServerResponse>) {
  await res;
  return seen.at(-1);
}

describe("onlyKnownFields", () => {
  it("is true only where fromJson reads the same with and without ignoreUnknownFields", () => {
    const cases: [object, boolean][] = [
      [
        { tenantId: "a", event: { eventType: "o.c", payload: null, payloadJson: "{}", channels: ["x"] } },
        true,
      ],
      [{ tenant_id: "a", event: { event_type: "o.c", payload_json: "{}" } }, true],
      [{ tenantId: "a", extra: 1 }, false],
      [{ event: { eventType: "o.c", later: true } }, false],
    ];
    for (const [json, expected] of cases) {
      expect(onlyKnownFields(PublishEventRequestSchema, json as never)).toBe(expected);
      const strict = () => fromJson(PublishEventRequestSchema, json as never);
      if (expected)
        expect(strict()).toEqual(
          fromJson(PublishEventRequestSchema, json as never, { ignoreUnknownFields: true }),
        );
      else expect(strict).toThrow();
    }
  });

  it("answers false for enums and recurses into nested messages", () => {
    expect(onlyKnownFields(TenantSchema, { id: "a", settings: { rateLimitPerSecond: 5 } } as never)).toBe(
      true,
    );
    expect(onlyKnownFields(TenantSchema, { id: "a", settings: { nope: 5 } } as never)).toBe(false);
    expect(
      onlyKnownFields(TenantSchema, { createTime: "2026-12-06T07:00:00Z", metadata: { k: "v" } } as never),
    ).toBe(true);
    expect(
      onlyKnownFields(EndpointSchema, { id: "a", signatureScheme: "SIGNATURE_SCHEME_V1" } as never),
    ).toBe(false);
  });
});

describe("withJsonRequestRewrite", () => {
  it("hands a rewritten body whose keys all name fields on parsed, and others as text", async () => {
    const known = { tenantId: "acme", event: { eventType: "o.c", payloadJson: "{}" } };
    const parsed = withJsonRequestRewrite(inner, () => known, 1024);
    expect((await last(parsed(request(["{}"]))))?.parsed).toBe(known);
    const unknown = { tenantId: "acme", newer: 1 };
    const text = await last(withJsonRequestRewrite(inner, () => unknown, 1024)(request(["{}"])));
    expect(text?.text).toBe('{"tenantId":"acme","newer":1}');
    expect(text?.header.get("content-length")).toBe("29");
  });

  it("leaves the body as sent when the rewrite answers nothing or cannot read it", async () => {
    expect((await last(withJsonRequestRewrite(inner, () => undefined, 1024)(request(["{}"]))))?.text).toBe(
      "{}",
    );
    const throws = withJsonRequestRewrite(
      inner,
      () => {
        throw new SyntaxError("nope");
      },
      1024,
    );
    expect((await last(throws(request(["{"]))))?.text).toBe("{");
  });

  it("answers a ConnectError from the rewrite as a Connect error, without calling the method", async () => {
    const before = seen.length;
    const handler = withJsonRequestRewrite(
      inner,
      () => {
        throw new ConnectError("event.payload: bad", Code.InvalidArgument);
      },
      1024,
    );
    const res = await handler(request(["{}"]));
    expect(res.status).toBe(400);
    const chunks: Uint8Array[] = [];
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({
      code: "invalid_argument",
      message: "event.payload: bad",
    });
    expect(seen.length).toBe(before);
  });

  it("passes protobuf, compressed and oversized bodies untouched", async () => {
    const rewrite = vi.fn(() => "{}");
    const handler = withJsonRequestRewrite(inner, rewrite, 8);
    expect((await last(handler(request(["proto"], "application/proto"))))?.text).toBe("proto");
    expect(
      (await last(handler(request(["gz"], "application/json", { "content-encoding": "gzip" }))))?.text,
    ).toBe("gz");
    expect((await last(handler(request(['{"a":', '"0123456789"}']))))?.text).toBe('{"a":"0123456789"}');
    expect(rewrite).not.toHaveBeenCalled();
  });
});
