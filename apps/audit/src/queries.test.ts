import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  DeliveryState,
  ListAttemptsRequestSchema,
  ListEventsRequestSchema,
  RecoverRequestSchema,
  RedriveRequestSchema,
} from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";
import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken, queryFingerprint } from "./page-token.js";
import {
  DEFAULT_PAGE_SIZE,
  listAttemptsQuery,
  listEventsQuery,
  MAX_PAGE_SIZE,
  pageSizeOf,
  REPLAY_LIMIT,
  recoverQuery,
  redriveQuery,
  requireId,
  toPage,
} from "./queries.js";

const ts = (iso: string) => timestampFromDate(new Date(iso));

/** The InvalidArgumentError `fn` throws, for its field and message. */
function invalid(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err;
    throw err;
  }
  throw new Error("no error thrown");
}

describe("page tokens", () => {
  const cursor = { time: new Date("2025-03-01T10:00:00.123Z"), id: "att_9" };

  it("round-trip a cursor for the same query", () => {
    const token = encodePageToken(cursor, "q1");
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, "q1")).toEqual(cursor);
  });

  it("are refused for another query", () => {
    const err = invalid(() => decodePageToken(encodePageToken(cursor, "q1"), "q2"));
    expect(err.field).toBe("page_token");
  });

  it("are refused when malformed", () => {
    for (const token of [
      "%%%",
      "bm90IGpzb24",
      Buffer.from('{"t":"x","i":1,"q":"q"}').toString("base64url"),
    ]) {
      expect(invalid(() => decodePageToken(token, "q")).field).toBe("page_token");
    }
    expect(invalid(() => decodePageToken(Buffer.from("null").toString("base64url"), "q")).field).toBe(
      "page_token",
    );
  });

  it("fingerprint queries by their filters", () => {
    expect(queryFingerprint(["a", 1, undefined])).toBe(queryFingerprint(["a", 1, undefined]));
    expect(queryFingerprint(["a", 1])).not.toBe(queryFingerprint(["a", 2]));
  });
});

describe("pageSizeOf and toPage", () => {
  it("defaults and caps the page size", () => {
    expect(pageSizeOf(0)).toBe(DEFAULT_PAGE_SIZE);
    expect(pageSizeOf(7)).toBe(7);
    expect(pageSizeOf(10_000)).toBe(MAX_PAGE_SIZE);
  });

  it("cuts the extra item and points the token after the last item kept", () => {
    const items = [3, 2, 1].map((n) => ({ id: `i${n}`, at: new Date(n * 1000) }));
    const query = { pageSize: 2, fingerprint: "f" };
    const page = toPage(items, query, (i) => ({ time: i.at, id: i.id }));
    expect(page.items.map((i) => i.id)).toEqual(["i3", "i2"]);
    expect(decodePageToken(page.nextPageToken, "f")).toEqual({ time: new Date(2000), id: "i2" });
    expect(toPage(items.slice(0, 2), query, (i) => ({ time: i.at, id: i.id })).nextPageToken).toBe("");
  });
});

describe("listAttemptsQuery", () => {
  it("filters by tenant only, newest first, by default", () => {
    const query = listAttemptsQuery(create(ListAttemptsRequestSchema, { tenantId: "t1" }));
    expect(query.filter).toEqual({ tenant_id: "t1" });
    expect(query.sort).toEqual({ attempt_time: -1, _id: -1 });
    expect(query.pageSize).toBe(DEFAULT_PAGE_SIZE);
  });

  it("adds every filter given, with a [start, end) time range", () => {
    const query = listAttemptsQuery(
      create(ListAttemptsRequestSchema, {
        tenantId: "t1",
        eventId: "e1",
        endpointId: "ep1",
        success: false,
        startTime: ts("2025-01-01T00:00:00Z"),
        endTime: ts("2025-01-02T00:00:00Z"),
        pageSize: 10,
      }),
    );
    expect(query.filter).toEqual({
      tenant_id: "t1",
      event_id: "e1",
      endpoint_id: "ep1",
      success: false,
      attempt_time: { $gte: new Date("2025-01-01T00:00:00Z"), $lt: new Date("2025-01-02T00:00:00Z") },
    });
    expect(query.pageSize).toBe(10);
  });

  it("continues strictly after the page token's (time, id)", () => {
    const first = listAttemptsQuery(create(ListAttemptsRequestSchema, { tenantId: "t1", success: true }));
    const time = new Date("2025-01-01T00:00:05Z");
    const pageToken = encodePageToken({ time, id: "a5" }, first.fingerprint);
    const next = listAttemptsQuery(
      create(ListAttemptsRequestSchema, { tenantId: "t1", success: true, pageToken }),
    );
    expect(next.filter).toEqual({
      $and: [
        { tenant_id: "t1", success: true },
        { attempt_time: { $lte: time } },
        { $or: [{ attempt_time: { $lt: time } }, { attempt_time: time, _id: { $lt: "a5" } }] },
      ],
    });
  });

  it("refuses a page token of a query with other filters", () => {
    const first = listAttemptsQuery(create(ListAttemptsRequestSchema, { tenantId: "t1", success: true }));
    const pageToken = encodePageToken({ time: new Date(), id: "a" }, first.fingerprint);
    const err = invalid(() =>
      listAttemptsQuery(create(ListAttemptsRequestSchema, { tenantId: "t1", success: false, pageToken })),
    );
    expect(err.field).toBe("page_token");
  });

  it("names the bad field", () => {
    expect(invalid(() => listAttemptsQuery(create(ListAttemptsRequestSchema, {}))).field).toBe("tenant_id");
    const backwards = create(ListAttemptsRequestSchema, {
      tenantId: "t1",
      startTime: ts("2025-01-02T00:00:00Z"),
      endTime: ts("2025-01-01T00:00:00Z"),
    });
    expect(invalid(() => listAttemptsQuery(backwards)).field).toBe("end_time");
    const long = create(ListAttemptsRequestSchema, { tenantId: "t1", eventId: "x".repeat(300) });
    expect(invalid(() => listAttemptsQuery(long)).field).toBe("event_id");
  });
});

describe("listEventsQuery", () => {
  it("filters by tenant, type and creation time, newest first", () => {
    const query = listEventsQuery(
      create(ListEventsRequestSchema, {
        tenantId: "t1",
        eventType: "order.created",
        endTime: ts("2025-01-02T00:00:00Z"),
        pageSize: 500,
      }),
    );
    expect(query.filter).toEqual({
      tenant_id: "t1",
      event_type: "order.created",
      create_time: { $lt: new Date("2025-01-02T00:00:00Z") },
    });
    expect(query.sort).toEqual({ create_time: -1, _id: -1 });
    expect(query.pageSize).toBe(MAX_PAGE_SIZE);
  });

  it("pages on (create_time, _id)", () => {
    const first = listEventsQuery(create(ListEventsRequestSchema, { tenantId: "t1" }));
    const time = new Date("2025-01-01T00:00:00Z");
    const pageToken = encodePageToken({ time, id: "e1" }, first.fingerprint);
    expect(listEventsQuery(create(ListEventsRequestSchema, { tenantId: "t1", pageToken })).filter).toEqual({
      $and: [
        { tenant_id: "t1" },
        { create_time: { $lte: time } },
        { $or: [{ create_time: { $lt: time } }, { create_time: time, _id: { $lt: "e1" } }] },
      ],
    });
  });
});

describe("recoverQuery", () => {
  const now = new Date("2025-01-10T00:00:00Z");

  it("selects FAILED and DEAD deliveries of the endpoint in [since, until], until defaulting to now", () => {
    const query = recoverQuery(
      create(RecoverRequestSchema, { tenantId: "t1", endpointId: "ep1", since: ts("2025-01-01T00:00:00Z") }),
      now,
    );
    expect(query).toEqual({
      tenantId: "t1",
      endpointId: "ep1",
      filter: {
        tenant_id: "t1",
        endpoint_id: "ep1",
        state: { $in: [DeliveryState.FAILED, DeliveryState.DEAD] },
        last_attempt_time: { $gte: new Date("2025-01-01T00:00:00Z"), $lte: now },
      },
      sort: { last_attempt_time: 1, _id: 1 },
      limit: REPLAY_LIMIT,
    });
    expect(REPLAY_LIMIT).toBe(1_000);
    expect(redriveQuery(create(RedriveRequestSchema, { tenantId: "t1" }), 10).limit).toBe(10);
  });

  it("names the bad field", () => {
    const base = { tenantId: "t1", endpointId: "ep1" };
    expect(invalid(() => recoverQuery(create(RecoverRequestSchema, base), now)).field).toBe("since");
    expect(
      invalid(() =>
        recoverQuery(create(RecoverRequestSchema, { ...base, since: ts("2025-02-01T00:00:00Z") }), now),
      ).field,
    ).toBe("since");
    const backwards = create(RecoverRequestSchema, {
      ...base,
      since: ts("2025-01-05T00:00:00Z"),
      until: ts("2025-01-05T00:00:00Z"),
    });
    expect(invalid(() => recoverQuery(backwards, now)).field).toBe("until");
    const noEndpoint = create(RecoverRequestSchema, { tenantId: "t1", since: ts("2025-01-01T00:00:00Z") });
    expect(invalid(() => recoverQuery(noEndpoint, now)).field).toBe("endpoint_id");
  });
});

describe("redriveQuery", () => {
  it("selects DEAD deliveries of the tenant, or of one endpoint", () => {
    expect(redriveQuery(create(RedriveRequestSchema, { tenantId: "t1" })).filter).toEqual({
      tenant_id: "t1",
      state: DeliveryState.DEAD,
    });
    expect(redriveQuery(create(RedriveRequestSchema, { tenantId: "t1", endpointId: "ep1" })).filter).toEqual({
      tenant_id: "t1",
      endpoint_id: "ep1",
      state: DeliveryState.DEAD,
    });
  });
});

describe("requireId", () => {
  it("refuses empty and overlong ids", () => {
    expect(requireId("event_id", "e1")).toBe("e1");
    expect(invalid(() => requireId("event_id", "")).message).toBe("event_id: required");
    expect(invalid(() => requireId("event_id", "e".repeat(257))).field).toBe("event_id");
  });
});
