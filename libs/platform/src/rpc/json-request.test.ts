import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { EndpointService, IngestService } from "@herald/contracts";
import { describe, expect, it, vi } from "vitest";
import { jsonRequestSteps, withJsonRequestSteps } from "./json-request.js";

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

describe("withJsonRequestSteps", () => {
  it("hands a rewritten body whose keys all name fields on parsed, and others as text", async () => {
    const known = { tenantId: "acme", event: { eventType: "o.c", payloadJson: "{}" } };
    const parsed = withJsonRequestSteps(inner, () => known, 1024);
    expect((await last(parsed(request(["{}"]))))?.parsed).toBe(known);
    const unknown = { tenantId: "acme", newer: 1 };
    const text = await last(withJsonRequestSteps(inner, () => unknown, 1024)(request(["{}"])));
    expect(text?.text).toBe('{"tenantId":"acme","newer":1}');
    expect(text?.header.get("content-length")).toBe("29");
  });

  it("leaves the body as sent when the rewrite answers nothing or cannot read it", async () => {
    expect((await last(withJsonRequestSteps(inner, () => undefined, 1024)(request(["{}"]))))?.text).toBe(
      "{}",
    );
    const throws = withJsonRequestSteps(
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
    const handler = withJsonRequestSteps(
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
    const handler = withJsonRequestSteps(inner, rewrite, 8);
    expect((await last(handler(request(["proto"], "application/proto"))))?.text).toBe("proto");
    expect(
      (await last(handler(request(["gz"], "application/json", { "content-encoding": "gzip" }))))?.text,
    ).toBe("gz");
    expect((await last(handler(request(['{"a":', '"0123456789"}']))))?.text).toBe('{"a":"0123456789"}');
    expect(rewrite).not.toHaveBeenCalled();
  });
});

describe("jsonRequestSteps", () => {
  const createEndpoint = EndpointService.method.createEndpoint.input;
  const bytes = (text: string) => Buffer.from(text);

  it("names an unknown enum name, and reads nothing for a message without enum fields", () => {
    expect(jsonRequestSteps(createEndpoint, bytes('{"signatureScheme":"V9"}'), undefined)).toEqual({
      unknownEnumName: expect.stringMatching(/^signature_scheme: "V9" is not a herald\.v1\.SignatureScheme/),
      rewritten: undefined,
    });
    const input = IngestService.method.publishEvent.input;
    expect(jsonRequestSteps(input, bytes('{"event":{"x":"NOPE"}}'), undefined)).toEqual({});
  });

  it("checks a body that is not UTF-8 as connect-es reads it, but does not rewrite it", () => {
    const rewrite = vi.fn(() => ({}));
    const body = Buffer.concat([bytes('{"name":"'), Buffer.from([0xff]), bytes('","signatureScheme":"V9"}')]);
    const steps = jsonRequestSteps(createEndpoint, body, rewrite);
    expect(steps.unknownEnumName).toMatch(/^signature_scheme: "V9"/);
    expect(steps.rewritten).toBeUndefined();
    expect(rewrite).not.toHaveBeenCalled();
  });
});

describe("withJsonRequestSteps and enum names", () => {
  const marker = "x-herald-unknown-enum-name";
  const createEndpoint = Object.assign(async (req: UniversalServerRequest) => inner(req), {
    requestPath: "/herald.v1.EndpointService/CreateEndpoint",
    method: EndpointService.method.createEndpoint,
  }) as unknown as UniversalHandler;

  it("marks a body naming an unknown enum value and hands it on as read", async () => {
    const handler = withJsonRequestSteps(createEndpoint, undefined, 1024);
    const got = await last(handler(request(['{"signatureScheme":', '"V9"}'])));
    expect(got?.text).toBe('{"signatureScheme":"V9"}');
    expect(decodeURIComponent(got?.header.get(marker) ?? "")).toMatch(/^signature_scheme: "V9"/);
  });

  it("drops a caller's own marker, whatever the body", async () => {
    const handler = withJsonRequestSteps(createEndpoint, undefined, 1024);
    const forged = { [marker]: "forged" };
    expect((await last(handler(request(["{}"], "application/json", forged))))?.header.has(marker)).toBe(
      false,
    );
    expect((await last(handler(request(["x"], "application/proto", forged))))?.header.has(marker)).toBe(
      false,
    );
  });
});
