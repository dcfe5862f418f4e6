import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { type ChatRequest, ChatRequestSchema, type ChatResponse, ChatResponseSchema } from "../gen/chat_pb.ts";

/** The gRPC path of the one method, as both stacks put it on the wire. */
export const chatMethodPath = "/chat.v1.ChatService/Chat";

/**
 * chat.v1.ChatService for grpc-js, built on the protoc-gen-es schema through
 * grpc-js's custom serialize/deserialize hooks, so both stacks share one
 * generated schema instead of a second code generator.
 */
export const chatServiceDefinition: ServiceDefinition = {
  chat: {
    path: chatMethodPath,
    requestStream: false,
    responseStream: true,
    requestSerialize: (value: ChatRequest) => Buffer.from(toBinary(ChatRequestSchema, value)),
    requestDeserialize: (bytes: Buffer) => fromBinary(ChatRequestSchema, bytes),
    responseSerialize: (value: ChatResponse) => Buffer.from(toBinary(ChatResponseSchema, value)),
    responseDeserialize: (bytes: Buffer) => fromBinary(ChatResponseSchema, bytes),
  },
};
