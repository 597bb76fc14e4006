import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  AttemptWait,
  DeliveryState,
  DisabledReason,
  ErrorClass,
  Scope,
} from "@herald/contracts";
import { formatDurationMs } from "@herald/platform/duration";
import { describe, expect, it } from "vitest";
import {
  attemptError,
  attemptWaited,
  deliveryStateName,
  endpointStateName,
  errorClassName,
  formatLimit,
  formatList,
  formatPayload,
  formatRecord,
  formatSchedule,
  formatTime,
  plural,
  renderFields,
  renderTable,
  scopeName,
  triggerName,
  truncate,
} from "./format.js";

describe("renderTable", () => {
  it("pads every column to its widest cell and upper-cases the header", () => {
    const text = renderTable(
      ["id", "state", "url"],
      [
        ["ep_1", "succeeded", "https://a.example/hook"],
        ["ep_22", "dead", "x"],
      ],
    );
    expect(text.split("\n")).toEqual([
      "ID     STATE      URL",
      "ep_1   succeeded  https://a.example/hook",
      "ep_22  dead       x",
    ]);
  });

  it("keeps a row on one line and tolerates short rows", () => {
    expect(renderTable(["a", "b"], [["x\ny"], ["1", "2\t3"]]).split("\n")).toEqual([
      "A    B",
      "x y",
      "1    2 3",
    ]);
  });

  it("renders only the header when there are no rows", () => {
    expect(renderTable(["id", "name"], [])).toBe("ID  NAME");
  });
});

describe("renderFields", () => {
  it("aligns the values", () => {
    expect(
      renderFields([
        ["id", "t1"],
        ["retry schedule", "5s,1m"],
        ["", "continued"],
      ]),
    ).toBe("id:             t1\nretry schedule: 5s,1m\n:               continued");
  });
});

describe("values", () => {
  it("formats times as ISO 8601 UTC, unset as -", () => {
    expect(formatTime(timestampFromDate(new Date("2025-01-02T03:04:05.678Z")))).toBe(
      "2025-01-02T03:04:05.678Z",
    );
    expect(formatTime(undefined)).toBe("-");
  });

  it("formats durations in the largest whole unit", () => {
    expect(formatDurationMs(5_000)).toBe("5s");
    expect(formatDurationMs(300_000)).toBe("5m");
    expect(formatDurationMs(7_200_000)).toBe("2h");
    expect(formatDurationMs(86_400_000)).toBe("1d");
    expect(formatDurationMs(90_000)).toBe("90s");
    expect(formatDurationMs(1_500)).toBe("1500ms");
    expect(formatDurationMs(0)).toBe("0ms");
  });

  it("formats a retry schedule as the option takes it", () => {
    expect(formatSchedule([durationFromMs(5_000), durationFromMs(60_000), durationFromMs(1_800_000)])).toBe(
      "5s,1m,30m",
    );
    expect(formatSchedule([])).toBe("-");
    expect(formatSchedule(undefined)).toBe("-");
    expect(formatSchedule([], "inherited")).toBe("inherited");
  });

  it("formats lists, records, limits and counts", () => {
    expect(formatList(["a", "b"])).toBe("a,b");
    expect(formatList([])).toBe("-");
    expect(formatRecord({ k: "v", x: "y" })).toBe("k=v,x=y");
    expect(formatRecord({})).toBe("-");
    expect(formatLimit(0, "default")).toBe("default");
    expect(formatLimit(10, "default")).toBe("10");
    expect(plural(1, "endpoint")).toBe("1 endpoint");
    expect(plural(3, "delivery", "deliveries")).toBe("3 deliveries");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
  });

  it("shows a payload as text, or its size when it is not UTF-8", () => {
    expect(formatPayload(new TextEncoder().encode('{"a":1}'))).toBe('{"a":1}');
    expect(formatPayload(new Uint8Array([0xff, 0x00]))).toBe("(2 bytes, not UTF-8)");
  });
});

describe("enum words", () => {
  it("names delivery states", () => {
    expect(deliveryStateName(DeliveryState.SUCCEEDED)).toBe("succeeded");
    expect(deliveryStateName(DeliveryState.PENDING)).toBe("pending");
    expect(deliveryStateName(DeliveryState.FAILED)).toBe("failed");
    expect(deliveryStateName(DeliveryState.DEAD)).toBe("dead");
    expect(deliveryStateName(99 as DeliveryState)).toBe("state 99");
  });

  it("names triggers, error classes and scopes", () => {
    expect(triggerName(AttemptTrigger.SCHEDULED)).toBe("scheduled");
    expect(triggerName(AttemptTrigger.MANUAL)).toBe("manual");
    expect(errorClassName(ErrorClass.HTTP_STATUS)).toBe("http status");
    expect(errorClassName(ErrorClass.NONE)).toBe("-");
    expect(scopeName(Scope.EVENTS_PUBLISH)).toBe("events:publish");
    expect(scopeName(Scope.ADMIN)).toBe("admin");
  });

  it("says how long an attempt waited before it was sent, and for what", () => {
    expect(attemptWaited({ waitedMs: 0, waitedFor: AttemptWait.UNSPECIFIED })).toBe("-");
    expect(attemptWaited({ waitedMs: 40, waitedFor: AttemptWait.TENANT_TURN })).toBe("40ms (tenant's turn)");
    expect(attemptWaited({ waitedMs: 1_250, waitedFor: AttemptWait.ENDPOINT_LIMIT })).toBe(
      "1.3s (endpoint at its limit)",
    );
    // A reason this CLI does not know yet still shows the time.
    expect(attemptWaited({ waitedMs: 5, waitedFor: 99 as AttemptWait })).toBe("5ms");
  });

  it("says what went wrong with an attempt", () => {
    const ok = { success: true, errorClass: ErrorClass.NONE, errorMessage: "" };
    expect(attemptError(ok)).toBe("-");
    expect(attemptError({ success: false, errorClass: ErrorClass.HTTP_STATUS, errorMessage: "" })).toBe(
      "http status",
    );
    expect(attemptError({ success: false, errorClass: ErrorClass.TIMEOUT, errorMessage: "after 15s" })).toBe(
      "timeout: after 15s",
    );
    expect(attemptError({ success: false, errorClass: ErrorClass.UNSPECIFIED, errorMessage: "boom" })).toBe(
      "boom",
    );
  });

  it("names an endpoint's state with the reason it is disabled", () => {
    expect(endpointStateName({ disabled: false, disabledReason: DisabledReason.UNSPECIFIED })).toBe(
      "enabled",
    );
    expect(endpointStateName({ disabled: true, disabledReason: DisabledReason.MANUAL })).toBe(
      "disabled (manual)",
    );
    expect(endpointStateName({ disabled: true, disabledReason: DisabledReason.GONE })).toBe(
      "disabled (410 gone)",
    );
    expect(endpointStateName({ disabled: true, disabledReason: DisabledReason.UNSPECIFIED })).toBe(
      "disabled",
    );
  });
});
