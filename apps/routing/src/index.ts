export { configSchema, routingService } from "./service.js";
