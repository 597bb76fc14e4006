export { configSchema, deliveryService } from "./service.js";
