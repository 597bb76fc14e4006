import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AttemptSchema, AttemptTrigger, AttemptWait, DeliveryState } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import {
  type AttemptOutcome,
  attemptOutcome,
  type DeliveryStatus,
  deliveryWait,
  needsDocument,
  nextDeliveryState,
  PENDING_STATUS,
} from "./delivery-state.js";

const T0 = Date.parse("2025-01-01T00:00:00Z");

function outcome(
  attemptNumber: number,
  state: DeliveryState,
  options: {
    at?: number;
    trigger?: AttemptTrigger;
    status?: number;
    next?: number;
    waited?: [number, AttemptWait];
  } = {},
): AttemptOutcome {
  return {
    attemptNumber,
    attemptTime: new Date(T0 + (options.at ?? attemptNumber * 1_000)),
    trigger: options.trigger ?? AttemptTrigger.SCHEDULED,
    state,
    responseStatus: options.status ?? (state === DeliveryState.SUCCEEDED ? 200 : 500),
    nextAttemptTime: options.next === undefined ? null : new Date(T0 + options.next),
    ...(options.waited ? { waitedMs: options.waited[0], waitedFor: options.waited[1] } : {}),
  };
}

function fold(records: AttemptOutcome[], start?: DeliveryStatus): DeliveryStatus | undefined {
  return records.reduce<DeliveryStatus | undefined>(nextDeliveryState, start);
}

/** Every ordering of `items`. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe("nextDeliveryState", () => {
  it("takes the first attempt's state over no status or a PENDING one", () => {
    const failed = outcome(1, DeliveryState.FAILED, { next: 5_000 });
    const expected: DeliveryStatus = {
      state: DeliveryState.FAILED,
      attemptCount: 1,
      lastAttemptNumber: 1,
      lastAttemptTime: failed.attemptTime,
      nextAttemptTime: new Date(T0 + 5_000),
      lastResponseStatus: 500,
      waits: [],
    };
    expect(nextDeliveryState(undefined, failed)).toEqual(expected);
    expect(nextDeliveryState({ ...PENDING_STATUS }, failed)).toEqual(expected);
  });

  it("moves forward with newer attempts", () => {
    const status = fold([
      outcome(1, DeliveryState.FAILED, { next: 2_000 }),
      outcome(2, DeliveryState.FAILED, { next: 3_000 }),
      outcome(3, DeliveryState.DEAD),
    ]);
    expect(status).toMatchObject({
      state: DeliveryState.DEAD,
      attemptCount: 3,
      lastAttemptNumber: 3,
      nextAttemptTime: null,
    });
  });

  it("returns the same object for a duplicate or an older record, so no write is needed", () => {
    const current = fold([outcome(1, DeliveryState.FAILED), outcome(2, DeliveryState.FAILED)]);
    expect(nextDeliveryState(current, outcome(2, DeliveryState.FAILED))).toBe(current);
    expect(nextDeliveryState(current, outcome(1, DeliveryState.FAILED))).toBe(current);
  });

  it("ends in the same status whatever order, and however often, records arrive", () => {
    const records = [
      outcome(1, DeliveryState.FAILED, { next: 2_000 }),
      outcome(2, DeliveryState.FAILED, { next: 3_000 }),
      outcome(3, DeliveryState.FAILED, { next: 4_000 }),
      outcome(4, DeliveryState.DEAD, { status: 503 }),
    ];
    const expected = fold(records);
    for (const order of permutations(records)) {
      expect(fold(order)).toEqual(expected);
      expect(fold([...order, ...order.slice(0, 2)])).toEqual(expected);
    }
    expect(expected).toMatchObject({ state: DeliveryState.DEAD, attemptCount: 4, lastResponseStatus: 503 });
  });

  it("orders attempts of the same number by time", () => {
    const early = outcome(1, DeliveryState.FAILED, { at: 1_000 });
    const late = outcome(1, DeliveryState.DEAD, { at: 2_000 });
    expect(fold([late, early])?.state).toBe(DeliveryState.DEAD);
    expect(fold([early, late])?.state).toBe(DeliveryState.DEAD);
  });

  it("keeps SUCCEEDED against older attempts that arrive late", () => {
    const status = fold([outcome(2, DeliveryState.SUCCEEDED), outcome(1, DeliveryState.FAILED)]);
    expect(status).toMatchObject({
      state: DeliveryState.SUCCEEDED,
      attemptCount: 2,
      lastResponseStatus: 200,
    });
  });

  it("keeps SUCCEEDED against a newer scheduled attempt (a duplicate task)", () => {
    const succeeded = fold([outcome(1, DeliveryState.SUCCEEDED, { at: 1_000 })]);
    const duplicate = outcome(1, DeliveryState.FAILED, { at: 9_000, next: 20_000 });
    expect(nextDeliveryState(succeeded, duplicate)).toBe(succeeded);
    // A later-numbered scheduled attempt cannot undo it either, but it counts.
    const later = nextDeliveryState(succeeded, outcome(2, DeliveryState.DEAD));
    expect(later).toMatchObject({ state: DeliveryState.SUCCEEDED, attemptCount: 2, lastResponseStatus: 200 });
  });

  it("lets a newer manual attempt move SUCCEEDED again, but not an older one", () => {
    const succeeded = fold([outcome(3, DeliveryState.SUCCEEDED)]);
    const manual = outcome(4, DeliveryState.FAILED, { trigger: AttemptTrigger.MANUAL, next: 10_000 });
    expect(nextDeliveryState(succeeded, manual)).toMatchObject({
      state: DeliveryState.FAILED,
      attemptCount: 4,
      lastAttemptNumber: 4,
    });
    const oldManual = outcome(2, DeliveryState.FAILED, { trigger: AttemptTrigger.MANUAL });
    expect(nextDeliveryState(succeeded, oldManual)).toBe(succeeded);
  });

  it("leaves PENDING (set by a replay) for the replay's attempt, not for a late older record", () => {
    const dead = fold([outcome(1, DeliveryState.FAILED), outcome(2, DeliveryState.DEAD)]) as DeliveryStatus;
    const replayed: DeliveryStatus = { ...dead, state: DeliveryState.PENDING };
    expect(nextDeliveryState(replayed, outcome(1, DeliveryState.FAILED))).toBe(replayed);
    const manual = outcome(3, DeliveryState.SUCCEEDED, { trigger: AttemptTrigger.MANUAL });
    expect(nextDeliveryState(replayed, manual)).toMatchObject({
      state: DeliveryState.SUCCEEDED,
      attemptCount: 3,
    });
  });
});

describe("a delivery's waits", () => {
  const endpoint = AttemptWait.ENDPOINT_LIMIT;
  const turn = AttemptWait.TENANT_TURN;

  it("sum over its attempts, and the longest wait's reason wins, in any order and with duplicates", () => {
    const records = [
      outcome(1, DeliveryState.FAILED, { next: 2_000, waited: [300, turn] }),
      outcome(2, DeliveryState.FAILED, { next: 3_000, waited: [900, endpoint] }),
      outcome(3, DeliveryState.SUCCEEDED),
    ];
    for (const order of permutations([
      ...records,
      records[0] as AttemptOutcome,
      records[1] as AttemptOutcome,
    ])) {
      const status = fold(order) as DeliveryStatus;
      expect(status.state).toBe(DeliveryState.SUCCEEDED);
      expect(deliveryWait(status.waits)).toEqual({ waitedMs: 1_200, waitedFor: endpoint });
    }
  });

  it("count an attempt number once: the longest of its records (a duplicate task)", () => {
    const status = fold([
      outcome(1, DeliveryState.FAILED, { at: 1_000, next: 2_000, waited: [400, endpoint] }),
      outcome(1, DeliveryState.FAILED, { at: 1_500, next: 2_000, waited: [700, turn] }),
      outcome(1, DeliveryState.FAILED, { at: 1_200, next: 2_000, waited: [100, endpoint] }),
    ]) as DeliveryStatus;
    expect(status.waits).toEqual([{ attemptNumber: 1, waitedMs: 700, waitedFor: turn }]);
    expect(deliveryWait(status.waits)).toEqual({ waitedMs: 700, waitedFor: turn });
  });

  it("are kept from an older attempt that changes nothing else", () => {
    const done = fold([outcome(2, DeliveryState.SUCCEEDED)]) as DeliveryStatus;
    const late = nextDeliveryState(done, outcome(1, DeliveryState.FAILED, { waited: [250, turn] }));
    expect(late).not.toBe(done);
    expect(late).toMatchObject({ state: DeliveryState.SUCCEEDED, attemptCount: 2, lastAttemptNumber: 2 });
    expect(deliveryWait(late.waits)).toEqual({ waitedMs: 250, waitedFor: turn });
    // The same record again changes nothing, so the writer skips the write.
    expect(nextDeliveryState(late, outcome(1, DeliveryState.FAILED, { waited: [250, turn] }))).toBe(late);
  });

  it("are none for attempts that went straight through", () => {
    const status = fold([outcome(1, DeliveryState.SUCCEEDED, { waited: [0, endpoint] })]) as DeliveryStatus;
    expect(status.waits).toEqual([]);
    expect(deliveryWait(status.waits)).toEqual({ waitedMs: 0, waitedFor: AttemptWait.UNSPECIFIED });
  });
});

describe("attemptOutcome", () => {
  const attemptTime = new Date(T0);
  const base = { id: "a", attemptNumber: 2, attemptTime: timestampFromDate(attemptTime) };

  it("takes the record's state and the attempt's fields", () => {
    const attempt = create(AttemptSchema, {
      ...base,
      trigger: AttemptTrigger.MANUAL,
      responseStatus: 502,
      nextAttemptTime: timestampFromDate(new Date(T0 + 60_000)),
    });
    expect(attemptOutcome(attempt, DeliveryState.FAILED)).toEqual({
      attemptNumber: 2,
      attemptTime,
      trigger: AttemptTrigger.MANUAL,
      state: DeliveryState.FAILED,
      responseStatus: 502,
      nextAttemptTime: new Date(T0 + 60_000),
      success: false,
    });
    const waited = create(AttemptSchema, { ...base, waitedMs: 80, waitedFor: AttemptWait.TENANT_TURN });
    expect(attemptOutcome(waited, DeliveryState.FAILED)).toMatchObject({
      waitedMs: 80,
      waitedFor: AttemptWait.TENANT_TURN,
    });
  });

  it("derives an unspecified state from success and the next attempt time", () => {
    const succeeded = create(AttemptSchema, { ...base, success: true });
    const retrying = create(AttemptSchema, { ...base, nextAttemptTime: timestampFromDate(new Date(T0 + 1)) });
    const dead = create(AttemptSchema, base);
    expect(attemptOutcome(succeeded, DeliveryState.UNSPECIFIED).state).toBe(DeliveryState.SUCCEEDED);
    expect(attemptOutcome(retrying, DeliveryState.UNSPECIFIED).state).toBe(DeliveryState.FAILED);
    expect(attemptOutcome(dead, DeliveryState.UNSPECIFIED).state).toBe(DeliveryState.DEAD);
  });
});

describe("needsDocument", () => {
  const accepted = (n: number, at?: number): AttemptOutcome => ({
    ...outcome(n, DeliveryState.SUCCEEDED, at === undefined ? {} : { at }),
    success: true,
  });

  it("is false only when every record is an accepted first attempt", () => {
    expect(needsDocument([accepted(1)])).toBe(false);
    // A redelivered record, or two tasks of the same attempt that both got through.
    expect(needsDocument([accepted(1), accepted(1, 1_500)])).toBe(false);
  });

  it("is true for a failure, a later attempt, a replay's, a dead task, or a mix", () => {
    const failed = { ...outcome(1, DeliveryState.FAILED, { next: 60_000 }), success: false };
    expect(needsDocument([failed])).toBe(true);
    expect(needsDocument([accepted(2)])).toBe(true);
    expect(needsDocument([accepted(1), failed])).toBe(true);
    // Outcomes that are not attempts (a dead-lettered task) carry no `success`.
    expect(needsDocument([outcome(1, DeliveryState.DEAD)])).toBe(true);
    // A record whose producer set SUCCEEDED on an attempt the receiver did not accept.
    expect(needsDocument([{ ...accepted(1), success: false }])).toBe(true);
  });
});
