import { createLogger } from "@herald/platform";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type DataPurge, schedulePurges } from "./data-purge.js";

const logger = createLogger({ service: "test", level: "silent" });

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("schedulePurges", () => {
  it("runs each purge on its interval, never two runs at once, retries after a failure, and stops", async () => {
    const calls: string[] = [];
    let finishTenants: () => void = () => undefined;
    let failRetention = true;
    const purge = {
      purgeDeletedTenants: vi.fn(async () => {
        calls.push("tenants");
        await new Promise<void>((resolve) => {
          finishTenants = resolve;
        });
        return [];
      }),
      purgeExpired: vi.fn(async () => {
        calls.push("expired");
        if (failRetention) {
          failRetention = false;
          throw new Error("MongoDB away");
        }
        return 0;
      }),
    } as unknown as DataPurge;
    const stop = schedulePurges(purge, {
      tenantPurgeIntervalMs: 1_000,
      retentionPurgeIntervalMs: 3_000,
      logger,
    });

    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(["tenants"]);
    // The tenant pass is still running: no second one starts meanwhile.
    await vi.advanceTimersByTimeAsync(2_500);
    expect(calls).toEqual(["tenants", "expired"]);
    finishTenants();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual(["tenants", "expired", "tenants"]);
    // The failed retention pass runs again on its next interval.
    finishTenants();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls.filter((c) => c === "expired")).toHaveLength(2);

    const stopped = stop();
    finishTenants();
    await stopped;
    const before = calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(before);
  });

  it("waits for the pass under way when stopped, and hands it an aborted signal", async () => {
    let signal: AbortSignal | undefined;
    let finish: () => void = () => undefined;
    const purge = {
      purgeDeletedTenants: async (_now: Date, s: AbortSignal) => {
        signal = s;
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        return [];
      },
      purgeExpired: async () => 0,
    } as unknown as DataPurge;
    const stop = schedulePurges(purge, {
      tenantPurgeIntervalMs: 1_000,
      retentionPurgeIntervalMs: 60_000,
      logger,
    });
    await vi.advanceTimersByTimeAsync(1_000);
    let done = false;
    const stopped = stop().then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(signal?.aborted).toBe(true);
    expect(done).toBe(false);
    finish();
    await stopped;
    expect(done).toBe(true);
  });
});
