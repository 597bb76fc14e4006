// Items waiting by key (a tenant), taken round robin across the keys with items waiting, so a key with
// 10,000 items queued delays another key's next item by at most one item per busy key, not by its whole
// backlog (docs/decisions/fair-delivery.md, "Ingest"). A key of weight w takes w items in a row when its
// turn comes, so under contention it gets w times another key's share of the rounds.

/** A key's weight; asked once per turn, so it must answer from memory. */
export type WeightOf = (key: string) => number;

/** A weight as whole items per turn, at least 1, as the platform's RoundRobinSlots counts it. */
function turnsOf(weight: number): number {
  return Number.isFinite(weight) && weight >= 1 ? Math.floor(weight) : 1;
}

/** One key's items, oldest first; `head` skips those taken, so taking is O(1). */
interface KeyQueue<T> {
  items: T[];
  head: number;
}

/** A FIFO queue per key, drained round robin across keys; a key costs nothing once its items are taken. */
export class FairQueue<T> {
  /** Queued items by key; a key is here only while it has some. */
  readonly #byKey = new Map<string, KeyQueue<T>>();
  /** Keys with items queued, in the order of their next turn; the first is having its turn. */
  #turns: string[] = [];
  /** Items the first key in `#turns` has had in its current turn, and how many its turn allows. */
  #served = 0;
  #allowed = 0;
  #size = 0;
  readonly #weightOf: WeightOf;

  /** `weightOf` gives a key's items per turn (default 1 each); it is asked once per turn. */
  constructor(weightOf: WeightOf = () => 1) {
    this.#weightOf = weightOf;
  }

  /** Items queued, across keys. */
  get size(): number {
    return this.#size;
  }

  /** Keys with items queued. */
  get keys(): number {
    return this.#byKey.size;
  }

  push(key: string, item: T): void {
    let queue = this.#byKey.get(key);
    if (!queue) {
      queue = { items: [], head: 0 };
      this.#byKey.set(key, queue);
      this.#turns.push(key);
    }
    queue.items.push(item);
    this.#size += 1;
  }

  /**
   * Takes up to `max` items, a turn per key in order (its weight's worth of items, oldest first). The
   * turn goes on from where the last take left it, even in the middle of a key's turn, so no key is
   * always served first and a round boundary neither adds to nor cuts a turn.
   */
  take(max: number): T[] {
    const taken: T[] = [];
    let turn = 0;
    const turns = this.#turns;
    while (taken.length < max && this.#size > 0) {
      if (turn >= turns.length) turn = 0;
      const key = turns[turn] as string;
      if (this.#served === 0) this.#allowed = turnsOf(this.#weightOf(key));
      const queue = this.#byKey.get(key) as KeyQueue<T>;
      taken.push(queue.items[queue.head] as T);
      queue.head += 1;
      this.#size -= 1;
      this.#served += 1;
      if (queue.head === queue.items.length) {
        this.#byKey.delete(key);
        turns.splice(turn, 1);
        this.#served = 0;
      } else {
        compact(queue);
        if (this.#served >= this.#allowed) {
          turn += 1;
          this.#served = 0;
        }
      }
    }
    // The next take starts with the key whose turn it is (after the last one served, or in its turn).
    if (turn > 0 && turn < turns.length) this.#turns = [...turns.slice(turn), ...turns.slice(0, turn)];
    return taken;
  }

  /** Takes every item queued, by key in turn as {@link take} does. */
  takeAll(): T[] {
    return this.take(this.#size);
  }
}

/** Drops the taken items of a key's queue once they are half of it, so memory follows what is queued. */
function compact<T>(queue: KeyQueue<T>): void {
  if (queue.head > 0 && queue.head * 2 >= queue.items.length) {
    queue.items = queue.items.slice(queue.head);
    queue.head = 0;
  }
}
