import { describe, expect, it } from "vitest";
import { type RequeueResult, requeueUntilDone } from "./requeue.js";

function answers(...results: RequeueResult[]) {
  let i = 0;
  return async () => {
    const result = results[i++];
    if (!result) throw new Error("called too often");
    return result;
  };
}

describe("requeueUntilDone", () => {
  it("calls again while truncated and reports every call", async () => {
    const progress: string[] = [];
    const total = await requeueUntilDone(
      answers(
        { requeued: 1000, truncated: true },
        { requeued: 1000, truncated: true },
        { requeued: 17, truncated: false },
      ),
      (batch, sum, more) => progress.push(`${batch}/${sum}/${more}`),
    );
    expect(total).toEqual({ requeued: 2017, calls: 3, stalled: false });
    expect(progress).toEqual(["1000/1000/true", "1000/2000/true", "17/2017/false"]);
  });

  it("makes one call when nothing matches", async () => {
    const progress: number[] = [];
    const total = await requeueUntilDone(answers({ requeued: 0, truncated: false }), (_b, sum) =>
      progress.push(sum),
    );
    expect(total).toEqual({ requeued: 0, calls: 1, stalled: false });
    expect(progress).toEqual([0]);
  });

  it("stops when a truncated call requeued nothing rather than spin", async () => {
    const total = await requeueUntilDone(
      answers({ requeued: 3, truncated: true }, { requeued: 0, truncated: true }),
      () => undefined,
    );
    expect(total).toEqual({ requeued: 3, calls: 2, stalled: true });
  });

  it("passes a failed call's error on", async () => {
    await expect(
      requeueUntilDone(
        async () => {
          throw new Error("unavailable");
        },
        () => undefined,
      ),
    ).rejects.toThrow("unavailable");
  });
});
