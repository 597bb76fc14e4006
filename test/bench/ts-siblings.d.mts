/** Registers the `./x.js` → `./x.ts` resolution for this thread (once). */
export function resolveTsSiblings(): void;
