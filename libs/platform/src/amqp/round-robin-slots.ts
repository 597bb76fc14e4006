// Slots served round robin across lanes (a lane is a tenant, say): when a slot frees, the next lane in
// turn goes, not the oldest waiter, so a lane with 10,000 items waiting delays another lane's next item
// by at most one item per busy lane (docs/decisions/fair-delivery.md). A lane of weight w takes w items
// in a row when its turn comes (weighted round robin), so it gets w times another's share under
// contention; without contention weights change nothing.

import { EQUAL_WEIGHTS, turnsOf, type WeightOf } from "./weights.js";

/** Runs at most `size` tasks at once, taking waiting tasks from their lanes in turn. */
export class RoundRobinSlots {
  readonly #size: number;
  readonly #weightOf: WeightOf;
  /** Waiting tasks by lane; a lane is here only while it has some, so idle lanes cost nothing. */
  readonly #lanes = new Map<string, Array<() => void>>();
  /** Lanes with waiting tasks, in the order they get their next turn; the first is having its turn. */
  readonly #turns: string[] = [];
  /** Tasks the first lane in `#turns` has started in its current turn, and how many its turn allows. */
  #served = 0;
  #allowed = 0;
  #running = 0;
  #waiting = 0;

  /** `weightOf` gives a lane's turns per round (default 1 each); it is asked once per turn. */
  constructor(size: number, weightOf: WeightOf = EQUAL_WEIGHTS) {
    if (!(size >= 1)) throw new RangeError(`slots must be ≥ 1, not ${size}`);
    this.#size = size;
    this.#weightOf = weightOf;
  }

  /** Runs `task` in a slot once `lane` has its turn; resolves or rejects as the task does. */
  async run<T>(lane: string, task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#size && this.#waiting === 0) this.#running += 1;
    else await this.#wait(lane);
    try {
      return await task();
    } finally {
      this.#running -= 1;
      this.#next();
    }
  }

  /** Tasks waiting for a slot, across lanes. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Lanes with tasks waiting. */
  get waitingLanes(): number {
    return this.#turns.length;
  }

  #wait(lane: string): Promise<void> {
    return new Promise<void>((start) => {
      let queue = this.#lanes.get(lane);
      if (!queue) {
        queue = [];
        this.#lanes.set(lane, queue);
        this.#turns.push(lane);
      }
      queue.push(start);
      this.#waiting += 1;
    });
  }

  #next(): void {
    while (this.#running < this.#size && this.#turns.length > 0) {
      const lane = this.#turns[0] as string;
      if (this.#served === 0) this.#allowed = turnsOf(this.#weightOf(lane));
      const queue = this.#lanes.get(lane) as Array<() => void>;
      const start = queue.shift() as () => void;
      this.#served += 1;
      if (queue.length === 0) {
        this.#lanes.delete(lane);
        this.#turns.shift();
        this.#served = 0;
      } else if (this.#served >= this.#allowed) {
        this.#turns.shift();
        this.#turns.push(lane);
        this.#served = 0;
      }
      this.#waiting -= 1;
      this.#running += 1;
      start();
    }
  }
}
