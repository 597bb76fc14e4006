import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Attempt, AttemptTrigger, AttemptWait, DeliveryState } from "@herald/contracts";

/** The status of one (event, endpoint) delivery, as the state machine sees it. */
export interface DeliveryStatus {
  state: DeliveryState;
  /** Highest attempt number seen; a replay is published as attempt `attemptCount + 1`. */
  attemptCount: number;
  /** Number and time of the attempt the state comes from: the ordering key of attempts. */
  lastAttemptNumber: number;
  /** Unset until an attempt is recorded. */
  lastAttemptTime: Date | null;
  nextAttemptTime: Date | null;
  /** 0 when no response arrived. */
  lastResponseStatus: number;
  /** The attempts that waited before they were sent, by attempt number (ascending), each number once. */
  waits: readonly AttemptNumberWait[];
}

/** How long the attempts with one attempt number waited, and for what (the longest such record's). */
export interface AttemptNumberWait {
  attemptNumber: number;
  waitedMs: number;
  waitedFor: AttemptWait;
}

/** What one attempt record says about its delivery. */
export interface AttemptOutcome {
  attemptNumber: number;
  attemptTime: Date;
  trigger: AttemptTrigger;
  /** State of the delivery after this attempt. */
  state: DeliveryState;
  responseStatus: number;
  nextAttemptTime: Date | null;
  /** How long the attempt waited before it was sent (Attempt.waited_ms); absent or 0 when it did not. */
  waitedMs?: number;
  /** What it waited for, with `waitedMs`. */
  waitedFor?: AttemptWait;
  /** Whether the receiver accepted it (Attempt.success); absent for outcomes that are not attempts. */
  success?: boolean;
}

/** A delivery that was routed but has no attempt yet. */
export const PENDING_STATUS: Readonly<DeliveryStatus> = Object.freeze({
  state: DeliveryState.PENDING,
  attemptCount: 0,
  lastAttemptNumber: 0,
  lastAttemptTime: null,
  nextAttemptTime: null,
  lastResponseStatus: 0,
  waits: Object.freeze([]),
});

/**
 * The status after `record`, given the status so far (undefined when there is none). Records arrive out
 * of order and more than once, so the result depends on the set of records seen, not their order:
 * - the state is that of the attempt with the highest (attempt number, attempt time); an older or
 *   identical record changes nothing but possibly `attemptCount`;
 * - SUCCEEDED is final, except against a newer MANUAL attempt (Redeliver, Recover, Redrive): a
 *   duplicate of an earlier task that fails after the success must not turn it into a failure. One
 *   order still differs: a success whose record arrives after a newer non-manual failure's (two
 *   copies of one task, recorded by different instances out of order) leaves the failure, as the
 *   status does not keep what telling the two orders apart would need;
 * - a wait is kept per attempt number, the longest of that number's records: a redelivered record is
 *   not counted twice (a running sum would be), whichever way the records come.
 *
 * Returns `current` itself when nothing changes, so a caller can skip the write.
 */
export function nextDeliveryState(
  current: DeliveryStatus | undefined,
  record: AttemptOutcome,
): DeliveryStatus {
  const base = current ?? PENDING_STATUS;
  const attemptCount = Math.max(base.attemptCount, record.attemptNumber);
  const applies =
    isNewer(record, base) &&
    !(base.state === DeliveryState.SUCCEEDED && record.trigger !== AttemptTrigger.MANUAL);
  const waits = withWait(base.waits, record);
  if (!applies) {
    if (current && attemptCount === current.attemptCount && waits === current.waits) return current;
    return { ...base, attemptCount, waits };
  }
  return {
    state: record.state,
    attemptCount,
    lastAttemptNumber: record.attemptNumber,
    lastAttemptTime: record.attemptTime,
    nextAttemptTime: record.nextAttemptTime,
    lastResponseStatus: record.responseStatus,
    waits,
  };
}

/** `waits` with the record's wait, or `waits` itself when the record adds nothing to it. */
function withWait(waits: readonly AttemptNumberWait[], record: AttemptOutcome): readonly AttemptNumberWait[] {
  const waitedMs = record.waitedMs ?? 0;
  if (waitedMs <= 0) return waits;
  const known = waits.find((w) => w.attemptNumber === record.attemptNumber);
  if (known && known.waitedMs >= waitedMs) return waits;
  const wait = {
    attemptNumber: record.attemptNumber,
    waitedMs,
    waitedFor: record.waitedFor ?? AttemptWait.UNSPECIFIED,
  };
  return [...waits.filter((w) => w !== known), wait].sort((a, b) => a.attemptNumber - b.attemptNumber);
}

/**
 * A delivery's waits as GetEvent answers them: the total over its attempts, and the reason of the
 * longest single wait (the earliest attempt's on a tie). The total is capped at uint32's range.
 */
export function deliveryWait(waits: readonly AttemptNumberWait[]): {
  waitedMs: number;
  waitedFor: AttemptWait;
} {
  let waitedMs = 0;
  let longest: AttemptNumberWait | undefined;
  for (const w of waits) {
    waitedMs += w.waitedMs;
    if (!longest || w.waitedMs > longest.waitedMs) longest = w;
  }
  return {
    waitedMs: Math.min(waitedMs, 0xffff_ffff),
    waitedFor: longest?.waitedFor ?? AttemptWait.UNSPECIFIED,
  };
}

function isNewer(record: AttemptOutcome, status: DeliveryStatus): boolean {
  if (status.lastAttemptTime === null) return true;
  if (record.attemptNumber !== status.lastAttemptNumber)
    return record.attemptNumber > status.lastAttemptNumber;
  return record.attemptTime.getTime() > status.lastAttemptTime.getTime();
}

/**
 * Whether a delivery with no document needs one for these outcomes. One whose every record is an
 * accepted first attempt needs none: its stored attempts hold all its status would (see
 * `statusOfSucceededAttempts` in documents.ts), and most deliveries are such, so most events cost one
 * document fewer. Anything else (a failure, a retry, a replay, a dead task) gets its document.
 */
export function needsDocument(outcomes: readonly AttemptOutcome[]): boolean {
  return !outcomes.every(
    (o) => o.success === true && o.state === DeliveryState.SUCCEEDED && o.attemptNumber === 1,
  );
}

/**
 * The outcome an attempt record stands for. `state` is the record's own; when a producer left it
 * unspecified it is derived: success, else FAILED while a retry is due, else DEAD. The consumer drops
 * records without an attempt time; were one to get here it would count as the oldest.
 */
export function attemptOutcome(attempt: Attempt, state: DeliveryState): AttemptOutcome {
  const nextAttemptTime = attempt.nextAttemptTime ? timestampDate(attempt.nextAttemptTime) : null;
  return {
    attemptNumber: attempt.attemptNumber,
    attemptTime: attempt.attemptTime ? timestampDate(attempt.attemptTime) : new Date(0),
    trigger: attempt.trigger,
    state: state !== DeliveryState.UNSPECIFIED ? state : derivedState(attempt.success, nextAttemptTime),
    responseStatus: attempt.responseStatus,
    nextAttemptTime,
    ...(attempt.waitedMs > 0 ? { waitedMs: attempt.waitedMs, waitedFor: attempt.waitedFor } : {}),
    success: attempt.success,
  };
}

function derivedState(success: boolean, nextAttemptTime: Date | null): DeliveryState {
  if (success) return DeliveryState.SUCCEEDED;
  return nextAttemptTime ? DeliveryState.FAILED : DeliveryState.DEAD;
}
