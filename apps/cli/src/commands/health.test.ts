import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CircuitState, EndpointHealthSchema, ErrorClass, HealthWindow } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { healthDetails, healthRows } from "./health.js";

describe("healthDetails", () => {
  it("shows a row per window, then the endpoint's figures", () => {
    const health = create(EndpointHealthSchema, {
      windows: [
        {
          window: HealthWindow.HEALTH_WINDOW_1H,
          attempts: 4n,
          succeeded: 3n,
          failed: 1n,
          successRate: 0.75,
          statusClasses: { status2xx: 3n, status5xx: 1n },
          failures: [{ errorClass: ErrorClass.HTTP_STATUS, count: 1n }],
          latencyP50Ms: 12,
          latencyP95Ms: 40,
          latencyP99Ms: 41,
        },
        { window: HealthWindow.HEALTH_WINDOW_24H },
      ],
      circuitState: CircuitState.MAYBE_OPEN,
      lastFailureTime: timestampFromDate(new Date("2026-01-01T00:00:00Z")),
      backlog: 7n,
      backlogTime: timestampFromDate(new Date("2026-01-01T00:01:00Z")),
      latencyRelativeError: 0.0476,
    });
    const text = healthDetails(health);
    expect(text).toMatch(/^WINDOW\s+ATTEMPTS\s+OK\s+FAILED\s+SUCCESS/);
    expect(text).toMatch(/^1h\s+4\s+3\s+1\s+75\.0%\s+3\/0\/0\/1\/0\s+12\/40\/41\s+http status 1$/m);
    expect(text).toMatch(/^24h\s+0\s+0\s+0\s+-\s+-\s+-\s+-$/m);
    expect(text).toMatch(/last success:\s+-/);
    expect(text).toMatch(/last failure:\s+2026-01-01T00:00:00.000Z/);
    expect(text).toMatch(/circuit:\s+maybe open/);
    expect(text).toMatch(/backlog:\s+7 awaiting a retry \(counted 2026-01-01T00:01:00.000Z\)/);
    expect(text).toMatch(/within 4\.8%/);
  });

  it("shows a dash without an answer or before the first backlog count", () => {
    expect(healthDetails(undefined)).toBe("-");
    expect(healthDetails(create(EndpointHealthSchema, {}))).toMatch(/backlog:\s+-/);
  });
});

describe("healthRows", () => {
  it("shows each endpoint's last day on one line", () => {
    const rows = healthRows([
      create(EndpointHealthSchema, {
        endpointId: "ep1",
        windows: [
          { window: HealthWindow.HEALTH_WINDOW_24H, attempts: 10n, successRate: 0.9, latencyP95Ms: 80 },
        ],
        circuitState: CircuitState.CLOSED,
        backlog: 2n,
        backlogTime: timestampFromDate(new Date()),
      }),
      create(EndpointHealthSchema, { endpointId: "ep2", circuitState: CircuitState.UNKNOWN }),
    ]);
    expect(rows).toMatch(/^ENDPOINT\s+24H ATTEMPTS\s+SUCCESS\s+P95 MS\s+LAST FAILURE\s+CIRCUIT\s+BACKLOG$/m);
    expect(rows).toMatch(/^ep1\s+10\s+90\.0%\s+80\s+-\s+closed\s+2$/m);
    expect(rows).toMatch(/^ep2\s+0\s+-\s+-\s+-\s+unknown\s+-$/m);
  });
});
