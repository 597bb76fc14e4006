import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError, toConnectError } from "./errors.js";

describe("toConnectError", () => {
  it("keeps the code and message of a Herald error", () => {
    const { error, expected } = toConnectError(
      new InvalidArgumentError("event.event_type", "must not be empty"),
    );
    expect(expected).toBe(true);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("event.event_type: must not be empty");
  });

  it("maps not-found with the kind and id", () => {
    const { error } = toConnectError(new NotFoundError("tenant", "acme"));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe('tenant "acme" not found');
  });

  it("adds a retry-after hint in seconds to RESOURCE_EXHAUSTED", () => {
    const { error } = toConnectError(new ResourceExhaustedError("rate limit of 10 events/s exceeded", 1_200));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.metadata.get("retry-after")).toBe("2");
    expect(error.rawMessage).toContain("retry after 1200 ms");
  });

  it("hides the message of an unexpected error", () => {
    const { error, expected } = toConnectError(new Error("connection string mongodb://user:pw@db failed"));
    expect(expected).toBe(false);
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error");
  });

  it("passes a ConnectError through", () => {
    const original = new ConnectError("deadline", Code.DeadlineExceeded);
    expect(toConnectError(original)).toEqual({ error: original, expected: true });
  });

  it("maps MongoDB and RabbitMQ outages to UNAVAILABLE, so clients retry", () => {
    for (const name of ["MongoServerSelectionError", "MongoNetworkError", "AMQPConnectionError"]) {
      const outage = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:27017"), { name });
      const { error, expected } = toConnectError(outage);
      expect(error.code).toBe(Code.Unavailable);
      expect(error.rawMessage).not.toContain("27017");
      expect(expected).toBe(false);
    }
  });
});
