const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const PREFIX = "evt_";
const TIME_CHARS = 10;

/**
 * When an event was created, read from its id (`evt_` + a ULID, whose first 10 characters are the
 * milliseconds since the epoch); undefined for an id of another shape.
 */
export function eventIdTime(eventId: string): Date | undefined {
  if (!eventId.startsWith(PREFIX) || eventId.length !== PREFIX.length + 26) return undefined;
  let ms = 0;
  for (const char of eventId.slice(PREFIX.length, PREFIX.length + TIME_CHARS)) {
    const digit = CROCKFORD.indexOf(char);
    if (digit < 0) return undefined;
    ms = ms * 32 + digit;
  }
  return ms <= 8.64e15 ? new Date(ms) : undefined;
}
