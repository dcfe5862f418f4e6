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
import { type ChatRequest, ChatRequestSchema, type ChatResponse } from "../gen/chat_pb.ts";
import { createCallReporter } from "../lib/call-report.ts";
import { parseFlags, runCli } from "../lib/cli.ts";
import { authority, clientFlags, readClientSettings } from "../lib/client-flags.ts";
import { chatMethodPath, chatServiceDefinition } from "../lib/grpc-js-chat.ts";

runCli("grpc-js-client", async () => {
  const settings = readClientSettings(
    parseFlags({ program: "grpc-js-client", summary: "one Chat call with grpc-js (gRPC only)", flags: clientFlags }),
    ["grpc"],
  );
  const target = authority(settings.host, settings.port);
  const channelOptions: grpc.ChannelOptions = {
    ...(settings.pingIntervalMs !== undefined && { "grpc.keepalive_time_ms": settings.pingIntervalMs }),
    ...(settings.pingTimeoutMs !== undefined && { "grpc.keepalive_timeout_ms": settings.pingTimeoutMs }),
  };
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), channelOptions);
  const reporter = createCallReporter({ client: "grpc-js", protocol: "grpc", target, json: settings.json });

  const { requestSerialize, responseDeserialize } = chatServiceDefinition.chat;
  const call = client.makeServerStreamRequest<ChatRequest, ChatResponse>(
    chatMethodPath,
    requestSerialize,
    responseDeserialize,
    create(ChatRequestSchema, { name: settings.name, text: settings.text }),
    new grpc.Metadata(),
    settings.timeoutMs !== undefined ? { deadline: Date.now() + settings.timeoutMs } : {},
  );
  process.once("SIGINT", () => call.cancel());
  call.on("data", (response: ChatResponse) => {
    reporter.message(response.index, response.text, response.sentAt && timestampDate(response.sentAt));
  });
  // Every call ends with exactly one status; the "error" event repeats it for non-OK ones.
  call.on("error", () => {});
  call.on("status", (status: grpc.StatusObject) => {
    const message = status.code === grpc.status.OK ? "" : status.details;
    process.exit(reporter.finish(status.code, message));
  });
});
