import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { codeInWords, describeError, EXIT_FAILURE, EXIT_USAGE, tagServiceUrl, UsageError } from "./errors.js";

describe("describeError", () => {
  it("says an API error's code in words and its message", () => {
    expect(describeError(new ConnectError("invalid or revoked API key", Code.Unauthenticated))).toEqual({
      message: "unauthenticated: invalid or revoked API key",
      exitCode: EXIT_FAILURE,
    });
    expect(describeError(new ConnectError('endpoint "ep_1" not found', Code.NotFound)).message).toBe(
      'not found: endpoint "ep_1" not found',
    );
  });

  it("names the URL and suggests npm start when the connection is refused", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:7002"), { code: "ECONNREFUSED" });
    const err = tagServiceUrl(
      new ConnectError(cause.message, Code.Unavailable, undefined, undefined, cause),
      "http://127.0.0.1:7002",
    );
    const { message, exitCode } = describeError(err);
    expect(message).toMatch(/^cannot connect to http:\/\/127\.0\.0\.1:7002 \(connection refused\)/);
    expect(message).toContain("npm start");
    expect(exitCode).toBe(EXIT_FAILURE);
  });

  it("finds ECONNREFUSED in the message when the cause is gone", () => {
    const err = tagServiceUrl(
      new ConnectError("connect ECONNREFUSED ::1:7004", Code.Unavailable),
      "http://localhost:7004",
    );
    expect(describeError(err).message).toContain("cannot connect to http://localhost:7004");
  });

  it("keeps the first URL an error was tagged with", () => {
    const err = new ConnectError("connect ECONNREFUSED", Code.Unavailable);
    tagServiceUrl(err, "http://a:1");
    tagServiceUrl(err, "http://b:2");
    expect(describeError(err).message).toContain("http://a:1");
  });

  it("suggests --timeout on deadline_exceeded", () => {
    const err = tagServiceUrl(
      new ConnectError("the operation timed out", Code.DeadlineExceeded),
      "http://x:1",
    );
    expect(describeError(err).message).toBe(
      "deadline exceeded: no answer from http://x:1 in time (raise --timeout)",
    );
  });

  it("exits 2 on usage errors and 1 on anything else, with only the message", () => {
    expect(describeError(new UsageError("no API key"))).toEqual({
      message: "no API key",
      exitCode: EXIT_USAGE,
    });
    expect(describeError(new TypeError("boom"))).toEqual({ message: "boom", exitCode: EXIT_FAILURE });
    expect(describeError("odd")).toEqual({ message: "odd", exitCode: EXIT_FAILURE });
  });

  it("spells codes as words", () => {
    expect(codeInWords(Code.PermissionDenied)).toBe("permission denied");
    expect(codeInWords(Code.ResourceExhausted)).toBe("resource exhausted");
  });
});
