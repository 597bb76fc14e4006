import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { describe, expect, it, vi } from "vitest";
import { withJsonRequestRewrite } from "./json-request-rewrite.js";

const seen: { text: string; header: Headers }[] = [];
const inner = Object.assign(
  async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of req.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
    seen.push({ text: Buffer.concat(chunks).toString("utf8"), header: req.header });
    return { status: 200 };
  },
  { requestPath: "/x.v1.S/M" },
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

describe("withJsonRequestRewrite", () => {
  it("hands the rewritten text on, with its length", async () => {
    const handler = withJsonRequestRewrite(inner, (text) => text.replace("a", "bb"), 1024);
    const got = await last(handler(request(['{"a"', ":1}"])));
    expect(got?.text).toBe('{"bb":1}');
    expect(got?.header.get("content-length")).toBe("8");
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
