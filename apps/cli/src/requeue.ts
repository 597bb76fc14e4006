/** What one Recover or Redrive call answers. */
export interface RequeueResult {
  requeued: number;
  truncated: boolean;
}

/** The sum of a Recover or Redrive run and how it ended. */
export interface RequeueTotal {
  requeued: number;
  calls: number;
  /** True when the server still had matches but the last call requeued none: stopped to not spin. */
  stalled: boolean;
}

/**
 * Calls Recover or Redrive again while the server answers `truncated` (it requeues at most a batch per
 * call), reporting each call's count and whether more follow. Stops when a truncated call requeued nothing: the remaining
 * matches cannot be replayed (their event or endpoint is gone), so calling again would repeat forever.
 */
export async function requeueUntilDone(
  call: () => Promise<RequeueResult>,
  onProgress: (batch: number, total: number, more: boolean) => void,
): Promise<RequeueTotal> {
  let total = 0;
  let calls = 0;
  for (;;) {
    const result = await call();
    calls += 1;
    total += result.requeued;
    onProgress(result.requeued, total, result.truncated);
    if (!result.truncated) return { requeued: total, calls, stalled: false };
    if (result.requeued === 0) return { requeued: total, calls, stalled: true };
  }
}
