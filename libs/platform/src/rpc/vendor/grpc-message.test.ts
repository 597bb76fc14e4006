import { describe, expect, it } from "vitest";
import { encodeGrpcMessage } from "./grpc-message.js";

describe("encodeGrpcMessage", () => {
  it("leaves printable ASCII but % as it is, so decodeURI-based clients read it back", () => {
    const message = 'event.payload: 3 bytes, over /limit "x"';
    expect(encodeGrpcMessage(message)).toBe(message);
    expect(decodeURI(encodeGrpcMessage(message))).toBe(message);
  });

  it("percent-encodes %, control characters and non-ASCII as UTF-8 bytes", () => {
    expect(encodeGrpcMessage("100% é\n")).toBe("100%25 %C3%A9%0A");
    expect(decodeURIComponent(encodeGrpcMessage("100% é\n"))).toBe("100% é\n");
  });
});
