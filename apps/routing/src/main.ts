import { main } from "@herald/platform";
import { routingService } from "./service.js";

await main(routingService);
