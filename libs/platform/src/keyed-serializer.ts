// Used where a read-modify-write must not race within one process: MongoDB's filter guards make such
// writes safe across instances, but FerretDB (tests, local development) does not isolate updates.

/**
 * Runs tasks one at a time per key, in call order; tasks of different keys run concurrently. Keys
 * without pending tasks are forgotten, so memory follows the work in flight.
 */
export class KeyedSerializer {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting. */
  get size(): number {
    return this.#tails.size;
  }
}
