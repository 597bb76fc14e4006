// The generated modules are the public API of this package: every schema, message type and service
// descriptor of proto/. They are re-exported whole because they are generated, never edited by hand.
export * from "./gen/grpc/health/v1/health_pb.js";
export * from "./gen/grpc/reflection/v1/reflection_pb.js";
export * from "./gen/herald/internal/v1/messages_pb.js";
export * from "./gen/herald/v1/api_key_pb.js";
export * from "./gen/herald/v1/audit_pb.js";
export * from "./gen/herald/v1/common_pb.js";
export * from "./gen/herald/v1/endpoint_pb.js";
export * from "./gen/herald/v1/event_type_pb.js";
export * from "./gen/herald/v1/ingest_pb.js";
export * from "./gen/herald/v1/listen_pb.js";
export * from "./gen/herald/v1/portal_pb.js";
export * from "./gen/herald/v1/tenant_pb.js";
export { openApiDocuments } from "./gen/openapi/documents.js";
