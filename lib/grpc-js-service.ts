import { type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { ChatService } from "../gen/chat_pb.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";

/**
 * A grpc-js service definition built from a protoc-gen-es service
 * descriptor, with grpc-js's custom serialize/deserialize hooks: both
 * stacks share one generated schema instead of a second code generator.
 * Methods are keyed by their local name (`chat`, `check`, `watch`).
 */
export function grpcJsService(service: DescService): ServiceDefinition {
  return Object.fromEntries(
    service.methods.map((method): [string, MethodDefinition<unknown, unknown>] => [
      method.localName,
      {
        path: `/${service.typeName}/${method.name}`,
        requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
        responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
        // biome-ignore lint/suspicious/noExplicitAny: grpc-js definitions are untyped at this level.
        requestSerialize: (value: any) => Buffer.from(toBinary(method.input, value)),
        requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
        // biome-ignore lint/suspicious/noExplicitAny: as above.
        responseSerialize: (value: any) => Buffer.from(toBinary(method.output, value)),
        responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      },
    ]),
  );
}

/** chat.v1.ChatService for grpc-js. */
export const chatServiceDefinition = grpcJsService(ChatService);

/** grpc.health.v1.Health for grpc-js. */
export const healthServiceDefinition = grpcJsService(Health);
