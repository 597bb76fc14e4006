import type { AttemptDocument } from "./documents.js";

/** Where {@link RollupBuffer} writes: the rollups, then the markers of the writes they count. */
export interface RollupSink {
  /** Adds the attempts to their endpoints' rollups: one upsert per rollup touched. */
  add(attempts: readonly AttemptDocument[]): Promise<void>;
  /** Records that the attempts of each of `batches` are in their rollups. */
  markCounted(batches: readonly string[], now: Date): Promise<void>;
}

/** Options of {@link RollupBuffer}. */
export interface RollupBufferOptions {
  /**
   * The longest a write's attempts wait for their rollups, in ms. Every rollup touched in that time
   * gets one upsert however many writes touched it; 0 writes on the next turn of the event loop.
   */
  intervalMs: number;
}

interface Waiting {
  batch: string;
  attempts: readonly AttemptDocument[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers the rollup increments of successive attempt writes into one write: each write touches two
 * rollups per endpoint in it, and each upsert is a write of its own on the server, so with many
 * endpoints per write the rollups would be most of audit's writes (docs/decisions/
 * endpoint-health-rollups.md). One flush at a time, in the order the writes came; a failed flush
 * fails every write in it, whose attempts are then counted when their records come again.
 */
export class RollupBuffer {
  readonly #sink: RollupSink;
  readonly #intervalMs: number;
  #waiting: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(sink: RollupSink, options: RollupBufferOptions) {
    this.#sink = sink;
    this.#intervalMs = options.intervalMs;
  }

  /** Writes waiting for their rollups. */
  get size(): number {
    return this.#waiting.length;
  }

  /**
   * Queues the attempts of write `batch` for the next flush. Resolves once they are in their rollups
   * and `batch` is marked counted; rejects if that write fails.
   */
  add(batch: string, attempts: readonly AttemptDocument[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ batch, attempts, resolve, reject });
      this.#timer ??= setTimeout(() => void this.flush(), this.#intervalMs);
    });
  }

  /** Writes what is queued now, after any flush under way; resolves when both are done. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const taken = this.#waiting;
    if (taken.length === 0) return this.#flushing;
    this.#waiting = [];
    this.#flushing = this.#flushing.then(() => this.#write(taken));
    return this.#flushing;
  }

  async #write(taken: Waiting[]): Promise<void> {
    try {
      await this.#sink.add(taken.flatMap((w) => w.attempts));
      await this.#sink.markCounted(
        taken.map((w) => w.batch),
        new Date(),
      );
    } catch (err) {
      for (const w of taken) w.reject(err);
      return;
    }
    for (const w of taken) w.resolve();
  }
}
