/**
 * The Chat client on grpc-js, with the same flags, printed lines and JSON
 * result as client.ts (gRPC protocol only).
 *
 *   node --import tsx peers/grpc-js-client.ts --ping-interval-ms 1000
 *
 * Ctrl-C cancels the call (call.cancel()): it ends `canceled` at once.
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { ChatRequestSchema, type ChatResponse } from "../gen/chat_pb.ts";
import { parseFlags, runCli } from "../lib/cli.ts";
import { authority, clientFlags, readClientSettings } from "../lib/client-flags.ts";
import { chatMethodPath, chatServiceDefinition } from "../lib/grpc-js-chat.ts";
import { createGrpcJsIdleTimeoutInterceptor } from "../lib/grpc-js-idle-timeout.ts";
import { runCalls } from "../lib/run-calls.ts";

runCli("grpc-js-client", async () => {
  const settings = readClientSettings(
    parseFlags({ program: "grpc-js-client", summary: "one Chat call with grpc-js (gRPC only)", flags: clientFlags }),
    ["grpc"],
  );
  const channelOptions: grpc.ClientOptions = {
    ...(settings.pingIntervalMs !== undefined && { "grpc.keepalive_time_ms": settings.pingIntervalMs }),
    ...(settings.pingTimeoutMs !== undefined && { "grpc.keepalive_timeout_ms": settings.pingTimeoutMs }),
    ...(settings.idleTimeoutMs !== undefined && {
      interceptors: [createGrpcJsIdleTimeoutInterceptor({ idleTimeoutMs: settings.idleTimeoutMs })],
    }),
  };
  // One channel for every call: --calls shows whether it recovers after a server restart.
  const client = new grpc.Client(
    authority(settings.host, settings.port),
    grpc.credentials.createInsecure(),
    channelOptions,
  );
  const { requestSerialize, responseDeserialize } = chatServiceDefinition.chat;
  await runCalls({
    client: "grpc-js",
    settings,
    call: (reporter, interrupt) =>
      new Promise((resolve) => {
        const call = client.makeServerStreamRequest(
          chatMethodPath,
          requestSerialize,
          responseDeserialize,
          create(ChatRequestSchema, { name: settings.name, text: settings.text }),
          new grpc.Metadata(),
          settings.timeoutMs !== undefined ? { deadline: Date.now() + settings.timeoutMs } : {},
        );
        const cancel = () => call.cancel();
        if (interrupt.aborted) cancel();
        interrupt.addEventListener("abort", cancel, { once: true });
        call.on("data", (response: ChatResponse) => {
          reporter.message(response.index, response.text, response.sentAt && timestampDate(response.sentAt));
        });
        // Every call ends with exactly one status; the "error" event repeats it for non-OK ones.
        call.on("error", () => {});
        call.on("status", (status: grpc.StatusObject) => {
          interrupt.removeEventListener("abort", cancel);
          resolve({ code: status.code, message: status.code === grpc.status.OK ? "" : status.details });
        });
      }),
  });
});
