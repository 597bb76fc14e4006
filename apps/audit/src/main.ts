import { main } from "@herald/platform";
import { auditService } from "./service.js";

await main(auditService);
