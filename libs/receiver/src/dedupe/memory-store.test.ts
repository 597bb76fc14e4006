import { describe } from "vitest";
import { MemoryStore } from "./memory-store.js";
import { fakeClock, itBehavesLikeADedupeStore } from "./store-contract.js";

describe("MemoryStore", () => {
  itBehavesLikeADedupeStore(() => {
    const clock = fakeClock();
    return { store: new MemoryStore({ now: clock.now }), elapse: clock.elapse };
  });
});
