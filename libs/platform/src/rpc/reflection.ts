import { create, type DescFile, type DescService, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import {
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "@herald/contracts";

/**
 * Registers gRPC server reflection (grpc.reflection.v1), so grpcurl and `buf curl` can list the
 * services and call them without the .proto files. Reflection works over HTTP/2 (gRPC) only: it is a
 * bidirectional stream.
 */
export function registerReflectionService(router: ConnectRouter, services: readonly DescService[]): void {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const addFile = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const message of file.messages)
      indexMessage(message.typeName, message.nestedMessages, message.nestedEnums, file);
    for (const enumeration of file.enums) symbols.set(enumeration.typeName, file);
    for (const service of file.services) {
      symbols.set(service.typeName, file);
      for (const method of service.methods) symbols.set(`${service.typeName}.${method.name}`, file);
    }
    for (const dependency of file.dependencies) addFile(dependency);
  };
  const indexMessage = (
    typeName: string,
    nested: DescFile["messages"],
    enums: DescFile["enums"],
    file: DescFile,
  ): void => {
    symbols.set(typeName, file);
    for (const message of nested)
      indexMessage(message.typeName, message.nestedMessages, message.nestedEnums, file);
    for (const enumeration of enums) symbols.set(enumeration.typeName, file);
  };
  const all = [...services, ServerReflection];
  for (const service of all) addFile(service.file);

  // A file and everything it imports, as the protocol asks, each serialized once.
  const withDependencies = (file: DescFile): Uint8Array[] => {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return out;
  };

  const answer = (req: ServerReflectionRequest): ServerReflectionResponse => {
    const reply = (
      messageResponse: MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"],
    ) =>
      create(ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse });
    const notFound = (what: string) =>
      reply({
        case: "errorResponse",
        value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
      });
    const request = req.messageRequest;
    switch (request.case) {
      case "listServices":
        return reply({
          case: "listServicesResponse",
          value: { service: all.map((service) => ({ name: service.typeName })) },
        });
      case "fileByFilename": {
        const file = files.get(request.value);
        if (!file) return notFound(`file "${request.value}"`);
        return reply({
          case: "fileDescriptorResponse",
          value: { fileDescriptorProto: withDependencies(file) },
        });
      }
      case "fileContainingSymbol": {
        const file = symbols.get(request.value.replace(/^\./, ""));
        if (!file) return notFound(`symbol "${request.value}"`);
        return reply({
          case: "fileDescriptorResponse",
          value: { fileDescriptorProto: withDependencies(file) },
        });
      }
      default:
        // Herald's contracts declare no extensions.
        return reply({
          case: "errorResponse",
          value: {
            errorCode: Code.Unimplemented,
            errorMessage: `${request.case ?? "empty request"} is not supported`,
          },
        });
    }
  };

  router.service(ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield answer(req);
    },
  });
}
