/**
 * Waits for every promise, then rejects with the first rejection, if any. Unlike `Promise.all`, nothing
 * is left running when it rejects: a message whose handler failed is requeued only once all of its work
 * has stopped, so its items are not worked on twice at once.
 */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
