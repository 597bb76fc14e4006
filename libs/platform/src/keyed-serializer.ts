// Used where a read-modify-write must not race within one process: MongoDB's filter guards make such
// writes safe across instances, and this spares an instance's own writes from losing those guards to
// each other and going round again (it also keeps them safe where updates are not isolated: docs/storage.md).

/**
 * Runs tasks one at a time per key, in call order; tasks of different keys run concurrently. Keys
 * without pending tasks are forgotten, so memory follows the work in flight.
 */
export class KeyedSerializer {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.runAll([key], task);
  }

  /**
   * Runs a task that holds several keys: after the tasks before it of any of them, before the tasks
   * after it of each of them. A task must not wait for another of a key it holds (that never ends).
   */
  runAll<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const previous = Promise.all(keys.map((key) => this.#tails.get(key)));
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    for (const key of keys) this.#tails.set(key, tail);
    void tail.then(() => {
      for (const key of keys) if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting. */
  get size(): number {
    return this.#tails.size;
  }
}
