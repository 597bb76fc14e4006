/** Options of {@link Batcher}. */
export interface BatcherOptions<T> {
  /** A batch is written as soon as it holds this many items. */
  maxSize: number;
  /**
   * Longest an item waits for its batch to fill before the batch is written anyway, in ms. With 0, a
   * batch holds what was added in the same turn of the event loop (setImmediate: the continuations of
   * one I/O event, such as every caller one insert released), with no timer's millisecond of delay.
   */
  maxDelayMs: number;
  /** Weight of an item (its bytes, say), for `maxWeight`. Items weigh nothing without it. */
  weight?: (item: T) => number;
  /**
   * A batch is written as soon as its items weigh this much, and never weighs more: an item that would
   * take it past this starts the next batch, and an item heavier than this goes alone. Default no limit.
   */
  maxWeight?: number;
  /** Writes one batch. Rejecting fails every item of the batch. */
  write: (items: T[]) => Promise<void>;
  /**
   * Batches written at once; default no limit. Items that arrive while this many are being written wait,
   * and go out as the next batch as soon as one write ends.
   */
  maxConcurrentWrites?: number;
}

interface Pending<T> {
  item: T;
  weight: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Groups items into batches by count, weight or age, whichever comes first. {@link add} resolves once
 * the batch holding the item is written, so a message can be acknowledged only after its record is stored.
 * Batches are written concurrently, up to `maxConcurrentWrites`; the caller bounds how many items are
 * outstanding (by prefetch).
 */
export class Batcher<T> {
  readonly #options: BatcherOptions<T>;
  #pending: Pending<T>[] = [];
  #pendingWeight = 0;
  #timer: { cancel(): void } | undefined;
  readonly #writing = new Set<Promise<void>>();
  /** A flush found every write slot taken: the next write to end flushes. */
  #deferred = false;

  constructor(options: BatcherOptions<T>) {
    if (!(options.maxSize >= 1)) throw new RangeError("maxSize must be at least 1");
    this.#options = options;
  }

  /** Items buffered for the next batch. */
  get size(): number {
    return this.#pending.length;
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const weight = this.#options.weight?.(item) ?? 0;
      this.#pending.push({ item, weight, resolve, reject });
      this.#pendingWeight += weight;
      if (this.#full()) this.#flush();
      else this.#timer ??= this.#flushLater();
    });
  }

  #full(): boolean {
    return (
      this.#pending.length >= this.#options.maxSize ||
      this.#pendingWeight >= (this.#options.maxWeight ?? Infinity)
    );
  }

  /** How many of the pending items, from the first, the next batch takes: at least one. */
  #nextBatchLength(): number {
    const maxWeight = this.#options.maxWeight ?? Infinity;
    let length = 0;
    let weight = 0;
    for (const pending of this.#pending) {
      if (length === this.#options.maxSize || (length > 0 && weight + pending.weight > maxWeight)) break;
      weight += pending.weight;
      length++;
    }
    return length;
  }

  /**
   * Writes what is buffered now rather than when its delay ends; with every write slot taken, as soon as
   * one frees. The items' {@link add} promises tell when they are written.
   */
  flush(): void {
    this.#flush();
  }

  /** Writes what is buffered now, and waits for every batch being written. */
  async drain(): Promise<void> {
    do {
      this.#flush();
      await Promise.allSettled([...this.#writing]);
    } while (this.#pending.length > 0);
  }

  #flushLater(): { cancel(): void } {
    const delayMs = this.#options.maxDelayMs;
    if (delayMs > 0) {
      const timeout = setTimeout(() => this.#flush(), delayMs);
      return { cancel: () => clearTimeout(timeout) };
    }
    const immediate = setImmediate(() => this.#flush());
    return { cancel: () => clearImmediate(immediate) };
  }

  #flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    // At the limit: the write that ends first flushes what waits.
    if (this.#writing.size >= (this.#options.maxConcurrentWrites ?? Infinity)) {
      this.#deferred = true;
      return;
    }
    const batch = this.#pending.splice(0, this.#nextBatchLength());
    for (const p of batch) this.#pendingWeight -= p.weight;
    const writing = Promise.resolve()
      .then(() => this.#options.write(batch.map((p) => p.item)))
      .then(
        () => {
          for (const p of batch) p.resolve();
        },
        (err: unknown) => {
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        this.#writing.delete(writing);
        if (this.#deferred) {
          this.#deferred = false;
          this.#flush();
        }
      });
    this.#writing.add(writing);
    if (this.#full()) this.#flush();
    else if (this.#pending.length > 0) this.#timer = this.#flushLater();
  }
}
