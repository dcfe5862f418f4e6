import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { ChatRequestSchema, type ChatResponse } from "../gen/chat_pb.ts";
import { HealthCheckRequestSchema, type HealthCheckResponse } from "../gen/grpc/health/v1/health_pb.ts";
import type { Caller } from "./caller.ts";
import { authority, type ClientSettings } from "./client-flags.ts";
import { createGrpcJsIdleTimeoutInterceptor } from "./grpc-js-idle-timeout.ts";
import { chatServiceDefinition, healthServiceDefinition } from "./grpc-js-service.ts";
import { ServingStatus, servingStatusName } from "./health-status.ts";

/**
 * Calls with grpc-js on one channel. The channel keeps its subchannels to
 * itself (grpc.use_local_subchannel_pool): grpc-js otherwise shares one
 * connection between channels with the same target and options, and two
 * runs of the lab would share a connection and its fate.
 */
export function createGrpcJsCaller(settings: ClientSettings): Caller {
  const channelOptions: grpc.ClientOptions = {
    "grpc.use_local_subchannel_pool": 1,
    ...(settings.pingIntervalMs !== undefined && { "grpc.keepalive_time_ms": settings.pingIntervalMs }),
    ...(settings.pingTimeoutMs !== undefined && { "grpc.keepalive_timeout_ms": settings.pingTimeoutMs }),
    ...(settings.idleTimeoutMs !== undefined && {
      interceptors: [createGrpcJsIdleTimeoutInterceptor({ idleTimeoutMs: settings.idleTimeoutMs })],
    }),
  };
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
  return {
    close: () => client.close(),
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
  };
}
