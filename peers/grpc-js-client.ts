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
import { HealthCheckRequestSchema, type HealthCheckResponse } from "../gen/grpc/health/v1/health_pb.ts";
import { parseFlags, runCli } from "../lib/cli.ts";
import { authority, clientFlags, readClientSettings } from "../lib/client-flags.ts";
import { createGrpcJsIdleTimeoutInterceptor } from "../lib/grpc-js-idle-timeout.ts";
import { chatServiceDefinition, healthServiceDefinition } from "../lib/grpc-js-service.ts";
import { ServingStatus, servingStatusName } from "../lib/health-status.ts";
import { runCalls } from "../lib/run-calls.ts";

runCli("grpc-js-client", async () => {
  const settings = readClientSettings(
    parseFlags({
      program: "grpc-js-client",
      summary: "one Chat call (or a health check) with grpc-js (gRPC only)",
      flags: clientFlags,
    }),
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
  const deadline = () => (settings.timeoutMs !== undefined ? { deadline: Date.now() + settings.timeoutMs } : {});
  const healthRequest = create(HealthCheckRequestSchema, { service: settings.healthService });
  /** Starts a server-streaming call and hands each message to `onData`. */
  const streamCall = <T>(method: grpc.MethodDefinition<unknown, T>, request: unknown, onData: (message: T) => void) => {
    const stream = client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      deadline(),
    );
    stream.on("data", onData);
    // Every call ends with exactly one status; the "error" event repeats it for non-OK ones.
    stream.on("error", () => {});
    return stream;
  };
  await runCalls({
    client: "grpc-js",
    settings,
    call: (reporter, interrupt) =>
      new Promise((resolve) => {
        let call: grpc.ClientReadableStream<unknown> | grpc.ClientUnaryCall;
        let health: ServingStatus | undefined;
        switch (settings.method) {
          case "chat": {
            const request = create(ChatRequestSchema, { name: settings.name, text: settings.text });
            call = streamCall(
              chatServiceDefinition.chat as grpc.MethodDefinition<unknown, ChatResponse>,
              request,
              (r) => reporter.message(r.index, r.text, r.sentAt && timestampDate(r.sentAt)),
            );
            break;
          }
          case "health-check": {
            const { path, requestSerialize, responseDeserialize } = healthServiceDefinition.check;
            call = client.makeUnaryRequest(
              path,
              requestSerialize,
              responseDeserialize,
              healthRequest,
              deadline(),
              (_error, response?: HealthCheckResponse) => {
                if (!response) return;
                health = response.status;
                reporter.message(1, servingStatusName(response.status), undefined);
              },
            );
            break;
          }
          case "health-watch": {
            let index = 0;
            const watch = healthServiceDefinition.watch as grpc.MethodDefinition<unknown, HealthCheckResponse>;
            call = streamCall(watch, healthRequest, (r) =>
              reporter.message(++index, servingStatusName(r.status), undefined),
            );
            break;
          }
        }
        const cancel = () => call.cancel();
        if (interrupt.aborted) cancel();
        interrupt.addEventListener("abort", cancel, { once: true });
        call.on("status", (status: grpc.StatusObject) => {
          interrupt.removeEventListener("abort", cancel);
          // A unary call's callback runs before its status event, so `health` is known here.
          resolve({
            code: status.code,
            message: status.code === grpc.status.OK ? "" : status.details,
            unhealthy: settings.method === "health-check" && health !== ServingStatus.SERVING,
          });
        });
      }),
  });
});
