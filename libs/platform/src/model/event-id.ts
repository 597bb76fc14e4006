import { randomFillSync } from "node:crypto";

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const RANDOM_BYTES = 10;
/** Random bytes drawn at once: one draw serves 409 ids, as one call per id was 2% of ingest's CPU. */
const POOL_BYTES = 4096;

const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** `RANDOM_BYTES` fresh random bytes, never handed out twice. */
function randomPart(): Buffer {
  if (poolOffset + RANDOM_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += RANDOM_BYTES;
  return pool.subarray(poolOffset - RANDOM_BYTES, poolOffset);
}

/**
 * A new event id, `evt_` + 26 base32 characters: 48 bits of milliseconds then 80 random bits (the
 * ULID layout), so ids sort by creation time and listings can page by id.
 */
export function newEventId(now = Date.now()): string {
  return `evt_${encodeUlid(now, randomPart())}`;
}

/** Crockford base32 of the 128 bits `time` (48) then `random` (80): 10 characters, then 16. */
export function encodeUlid(time: number, random: Uint8Array): string {
  let out = "";
  // 48 bits fit a double exactly; the first character carries the top 3 of 50.
  for (let i = 9, t = time; i >= 0; i--, t = Math.floor(t / 32)) out = CROCKFORD[t % 32] + out;
  // 80 bits are 16 characters of 5: each 5 bytes make 8 of them.
  for (let group = 0; group < RANDOM_BYTES; group += 5) {
    let bits = 0;
    let count = 0;
    for (let i = group; i < group + 5; i++) {
      bits = (bits << 8) | (random[i] as number);
      count += 8;
      while (count >= 5) {
        count -= 5;
        out += CROCKFORD[(bits >>> count) & 31];
      }
      bits &= (1 << count) - 1;
    }
  }
  return out;
}
