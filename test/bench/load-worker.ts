// Entry of the load generator's worker thread (load-thread.ts). Module hooks are per thread, so this one
// registers the bench's `./x.js` → `./x.ts` resolution before importing anything of the bench's.
import { parentPort, workerData } from "node:worker_threads";
import type { IngestTarget } from "./load.js";
import { resolveTsSiblings } from "./ts-siblings.mjs";

resolveTsSiblings();
const { serveLoad } = await import("./load-thread.js");
if (parentPort) serveLoad(parentPort, workerData as IngestTarget);
