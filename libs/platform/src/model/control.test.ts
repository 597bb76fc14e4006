import { create } from "@bufbuild/protobuf";
import { type ControlNotification, ControlNotificationSchema } from "@herald/contracts";
import { describe, expect, it, vi } from "vitest";
import { ControlListeners } from "./control.js";

const notification = (init: { tenantId?: string; endpointId?: string; apiKeyId?: string }) =>
  create(ControlNotificationSchema, init);

describe("ControlListeners", () => {
  it("hands every notification to every listener, and a missed stretch as undefined", () => {
    const listeners = new ControlListeners();
    const heard: Array<[string, ControlNotification | undefined]> = [];
    listeners.listen((change) => heard.push(["keys", change]));
    listeners.listen((change) => heard.push(["cache", change]));
    const change = notification({ tenantId: "t1" });
    listeners.dispatch(change);
    listeners.dispatch(undefined);
    expect(heard).toEqual([
      ["keys", change],
      ["cache", change],
      ["keys", undefined],
      ["cache", undefined],
    ]);
  });

  it("tells a waiter when a matching notification arrives, after the listeners applied it, or stops at its timeout", async () => {
    vi.useFakeTimers();
    try {
      const listeners = new ControlListeners();
      const applied: string[] = [];
      listeners.listen((change) => applied.push(change?.apiKeyId ?? ""));
      const noticed = listeners
        .noticeOf((c) => c.apiKeyId === "k1", 1_000)
        .then((seen) => {
          expect(applied).toContain("k1");
          return seen;
        });
      const missed = listeners.noticeOf((c) => c.apiKeyId === "k2", 1_000);
      listeners.dispatch(notification({ apiKeyId: "k3" }));
      listeners.dispatch(undefined);
      listeners.dispatch(notification({ apiKeyId: "k1" }));
      expect(await noticed).toBe(true);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await missed).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
