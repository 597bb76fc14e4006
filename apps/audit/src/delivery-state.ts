import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Attempt, AttemptTrigger, DeliveryState } from "@herald/contracts";

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
}

/** A delivery that was routed but has no attempt yet. */
export const PENDING_STATUS: Readonly<DeliveryStatus> = Object.freeze({
  state: DeliveryState.PENDING,
  attemptCount: 0,
  lastAttemptNumber: 0,
  lastAttemptTime: null,
  nextAttemptTime: null,
  lastResponseStatus: 0,
});

/**
 * The status after `record`, given the status so far (undefined when there is none). Records arrive out
 * of order and more than once, so the result depends only on the set of records seen:
 * - the state is that of the attempt with the highest (attempt number, attempt time); an older or
 *   identical record changes nothing but possibly `attemptCount`;
 * - SUCCEEDED is final, except against a newer MANUAL attempt (Redeliver, Recover, Redrive): a
 *   duplicate of an earlier task that fails after the success must not turn it into a failure.
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
  if (!applies) {
    if (current && attemptCount === current.attemptCount) return current;
    return { ...base, attemptCount };
  }
  return {
    state: record.state,
    attemptCount,
    lastAttemptNumber: record.attemptNumber,
    lastAttemptTime: record.attemptTime,
    nextAttemptTime: record.nextAttemptTime,
    lastResponseStatus: record.responseStatus,
  };
}

function isNewer(record: AttemptOutcome, status: DeliveryStatus): boolean {
  if (status.lastAttemptTime === null) return true;
  if (record.attemptNumber !== status.lastAttemptNumber)
    return record.attemptNumber > status.lastAttemptNumber;
  return record.attemptTime.getTime() > status.lastAttemptTime.getTime();
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
  };
}

function derivedState(success: boolean, nextAttemptTime: Date | null): DeliveryState {
  if (success) return DeliveryState.SUCCEEDED;
  return nextAttemptTime ? DeliveryState.FAILED : DeliveryState.DEAD;
}
