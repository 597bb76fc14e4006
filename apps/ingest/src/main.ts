import { main } from "@herald/platform";
import { ingestService } from "./service.js";

await main(ingestService);
