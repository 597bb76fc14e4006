import { create } from "@bufbuild/protobuf";
import { ErrorClass, ListenDeliverySchema } from "@herald/contracts";
import { describe, expect, it, vi } from "vitest";
import { deliveryLine, noAnswer, postLocally, reportOf } from "./forward.js";

const delivery = create(ListenDeliverySchema, {
  deliveryId: "ld_aa_1",
  eventId: "evt_1",
  eventType: "order.created",
  attempt: 3,
  headers: { "webhook-id": "evt_1", "webhook-signature": "v1,abc", "content-type": "application/json" },
  body: new TextEncoder().encode('{"order":1}'),
});

function clock(...times: number[]) {
  return () => times.shift() ?? 0;
}

describe("postLocally", () => {
  it("POSTs the delivery's headers and bytes unchanged, following no redirect, and keeps the answer", async () => {
    const fetch = vi.fn(async () => new Response("x".repeat(5_000), { status: 302 }));
    const answer = await postLocally("http://localhost:3000/hook", delivery, {
      timeoutMs: 1_000,
      fetch,
      now: clock(10, 25),
    });
    expect(fetch).toHaveBeenCalledWith(
      "http://localhost:3000/hook",
      expect.objectContaining({
        method: "POST",
        headers: delivery.headers,
        body: delivery.body,
        redirect: "manual",
      }),
    );
    expect(answer).toEqual({
      status: 302,
      body: "x".repeat(4096),
      latencyMs: 15,
      errorClass: ErrorClass.UNSPECIFIED,
      errorMessage: "",
    });
  });

  it("says why there was no answer", async () => {
    const refused = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:3000"), { code: "ECONNREFUSED" }),
    });
    const fetch = vi.fn(async () => {
      throw refused;
    });
    expect(
      await postLocally("http://localhost:3000/", delivery, { timeoutMs: 1_000, fetch, now: clock(0, 2) }),
    ).toEqual({
      status: 0,
      body: "",
      latencyMs: 2,
      errorClass: ErrorClass.CONNECTION,
      errorMessage: "connect ECONNREFUSED 127.0.0.1:3000",
    });
    expect(noAnswer(new DOMException("timed out", "TimeoutError"), 500)).toEqual({
      errorClass: ErrorClass.TIMEOUT,
      errorMessage: "no answer within 500 ms",
    });
    expect(
      noAnswer({ cause: { code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND nope" } }, 500).errorClass,
    ).toBe(ErrorClass.DNS);
  });
});

describe("reports and lines", () => {
  it("reports the answer under the delivery's id", () => {
    const report = reportOf({ tenantId: "acme", endpointId: "ep_1" }, delivery, {
      status: 204,
      body: "",
      latencyMs: 12.6,
      errorClass: ErrorClass.UNSPECIFIED,
      errorMessage: "",
    });
    expect(report).toMatchObject({
      tenantId: "acme",
      endpointId: "ep_1",
      deliveryId: "ld_aa_1",
      status: 204,
      latencyMs: 13,
    });
  });

  it("prints one line per delivery: time, type, id, attempt, local status and latency", () => {
    const at = new Date("2026-12-06T07:30:05Z");
    const answer = {
      status: 204,
      body: "",
      latencyMs: 12,
      errorClass: ErrorClass.UNSPECIFIED,
      errorMessage: "",
    };
    expect(deliveryLine(delivery, answer, at)).toBe(
      "07:30:05  order.created  evt_1  attempt 3  → 204  12 ms",
    );
    expect(
      deliveryLine(
        delivery,
        { ...answer, status: 0, errorClass: ErrorClass.CONNECTION, errorMessage: "refused" },
        at,
      ),
    ).toBe("07:30:05  order.created  evt_1  attempt 3  → no answer (refused)  12 ms");
  });
});
