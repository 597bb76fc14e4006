import { main } from "@herald/platform";
import { deliveryService } from "./service.js";

await main(deliveryService);
