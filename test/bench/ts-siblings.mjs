// The bench runs its TypeScript as it is (node 24's type stripping). Its modules, and the e2e support
// files they reuse, name their siblings `./x.js` as TypeScript source does; this hook resolves such a
// name to `./x.ts` when only the source exists. Plain JavaScript, so that importing it needs no hook.
// Module hooks hold for one thread: run.ts registers them, and so does every worker the bench starts.
import { registerHooks } from "node:module";

let registered = false;

/** Registers the `./x.js` → `./x.ts` resolution for this thread (once). */
export function resolveTsSiblings() {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (err) {
        const fromTs = context.parentURL?.endsWith(".ts") && !context.parentURL.includes("/node_modules/");
        if (fromTs && specifier.startsWith(".") && specifier.endsWith(".js")) {
          return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
        }
        throw err;
      }
    },
  });
}
