import { describe, expect, it } from "vitest";
import { settleAll } from "./settle-all.js";

describe("settleAll", () => {
  it("rejects with the first rejection only once every promise has settled", async () => {
    let slowDone = false;
    const slow = new Promise<void>((resolve) =>
      setTimeout(() => {
        slowDone = true;
        resolve();
      }, 20),
    );
    const first = new Error("first");
    await expect(settleAll([Promise.reject(first), slow, Promise.reject(new Error("second"))])).rejects.toBe(
      first,
    );
    expect(slowDone).toBe(true);
  });

  it("resolves when every promise resolves", async () => {
    await expect(settleAll([Promise.resolve(1), Promise.resolve("x")])).resolves.toBeUndefined();
  });
});
