import { create } from "@bufbuild/protobuf";
import { type ControlNotification, ControlNotificationSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
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
});
