/**
 * Compares two strings without stopping at the first difference, so the time taken does not tell an
 * attacker how many leading characters of a forged signature were right. The length is not secret.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** True if any candidate equals `expected`; every candidate is compared in full. */
export function includesConstantTime(candidates: readonly string[], expected: string): boolean {
  let found = false;
  for (const candidate of candidates) found = constantTimeEqual(candidate, expected) || found;
  return found;
}
