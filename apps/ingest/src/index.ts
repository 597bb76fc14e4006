export { configSchema, ingestService } from "./service.js";
