import { describe, expect, it } from "vitest";
import { handleBatch } from "./batch-handling.js";

describe("handleBatch", () => {
  it("hands the failed items of a batch to republishAlone once every item has settled", async () => {
    const handled: number[] = [];
    const republished: number[][] = [];
    const errors: unknown[] = [];
    const boom = new Error("item 2 failed");
    await handleBatch(
      [1, 2, 3, 4],
      async (n) => {
        if (n === 2) throw boom;
        if (n === 4) throw new Error("item 4 failed");
        await new Promise((resolve) => setTimeout(resolve, 10));
        handled.push(n);
      },
      async (failed, firstError) => {
        republished.push(failed);
        errors.push(firstError);
        // Every other item is done by now.
        expect(handled.sort()).toEqual([1, 3]);
      },
    );
    expect(republished).toEqual([[2, 4]]);
    expect(errors).toEqual([boom]);
  });

  it("republishes nothing when every item succeeds", async () => {
    let republished = false;
    await handleBatch(
      [1, 2],
      async () => undefined,
      async () => {
        republished = true;
      },
    );
    expect(republished).toBe(false);
  });

  it("fails a batch of one as a whole, so its message is requeued", async () => {
    let republished = false;
    const boom = new Error("the only item failed");
    await expect(
      handleBatch(
        [1],
        async () => {
          throw boom;
        },
        async () => {
          republished = true;
        },
      ),
    ).rejects.toBe(boom);
    expect(republished).toBe(false);
  });

  it("rejects when republishing fails, so the whole message is requeued", async () => {
    const down = new Error("rabbitmq down");
    await expect(
      handleBatch(
        [1, 2],
        async (n) => {
          if (n === 1) throw new Error("failed");
        },
        async () => {
          throw down;
        },
      ),
    ).rejects.toBe(down);
  });
});
