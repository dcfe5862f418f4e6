import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { ChatRequestSchema, type ChatResponse } from "../gen/chat_pb.ts";
import { HealthCheckRequestSchema, type HealthCheckResponse } from "../gen/grpc/health/v1/health_pb.ts";
import type { CallReporter } from "./call-report.ts";
import type { CallEnd, Caller } from "./caller.ts";
import { authority, type ClientSettings, retryPolicy } from "./client-flags.ts";
import { resolveDynamicMethod } from "./dynamic-call.ts";
import { createGrpcJsIdleTimeoutInterceptor } from "./grpc-js-idle-timeout.ts";
import { chatServiceDefinition, healthServiceDefinition } from "./grpc-js-service.ts";
import { ServingStatus, servingStatusName } from "./health-status.ts";
import { mergeServiceConfig } from "./library-options.ts";

/**
 * Calls with grpc-js on one channel. The channel keeps its subchannels to
 * itself (grpc.use_local_subchannel_pool): grpc-js otherwise shares one
 * connection between channels with the same target and options, and two
 * runs of the lab would share a connection and its fate.
 */
export function createGrpcJsCaller(settings: ClientSettings): Caller {
  // The user's method and request, checked against its schema before any call: one line if wrong.
  if (settings.dynamic) resolveDynamicMethod(settings.dynamic);
  // The profile's options (--options) under the flags: a flag is the case's remedy.
  const { "grpc.service_config": userConfig, ...userOptions } = settings.libraryOptions;
  const serviceConfig = mergeServiceConfig(userConfig, grpcServiceConfig(settings));
  const channelOptions: grpc.ClientOptions = {
    ...userOptions,
    "grpc.use_local_subchannel_pool": 1,
    ...(settings.pingIntervalMs !== undefined && { "grpc.keepalive_time_ms": settings.pingIntervalMs }),
    ...(settings.pingTimeoutMs !== undefined && { "grpc.keepalive_timeout_ms": settings.pingTimeoutMs }),
    ...(settings.pingIdle && { "grpc.keepalive_permit_without_calls": 1 }),
    ...(serviceConfig && { "grpc.service_config": JSON.stringify(serviceConfig) }),
    // A list of addresses is no authority: give the one a DNS name would (see targetAuthority).
    ...(settings.target && { "grpc.default_authority": targetAuthority }),
    ...(settings.idleTimeoutMs !== undefined && {
      interceptors: [createGrpcJsIdleTimeoutInterceptor({ idleTimeoutMs: settings.idleTimeoutMs })],
    }),
  };
  const client = new grpc.Client(
    settings.target ?? authority(settings.host, settings.port),
    // Over TLS (issue 19): the server's certificate checked against the lab's CA, ALPN h2.
    settings.tlsCa ? grpc.credentials.createSsl(settings.tlsCa) : grpc.credentials.createInsecure(),
    channelOptions,
  );
  return {
    close: () => client.close(),
    call: (reporter, interrupt, overrides = {}) =>
      grpcJsCall(client, { ...settings, ...overrides }, reporter, interrupt),
  };
}

/** One call on the channel, as `call` says (its method, deadline, wait-for-ready). */
function grpcJsCall(
  client: grpc.Client,
  settings: ClientSettings,
  reporter: CallReporter,
  interrupt: AbortSignal,
): Promise<CallEnd> {
  const deadline = () => (settings.timeoutMs !== undefined ? { deadline: Date.now() + settings.timeoutMs } : {});
  // grpc-js reads wait-for-ready from the call's metadata (a call option of that name is ignored).
  const metadata = () => new grpc.Metadata({ waitForReady: settings.waitForReady });
  const healthRequest = create(HealthCheckRequestSchema, { service: settings.healthService });
  /** Starts a server-streaming call and hands each message to `onData`. */
  const streamCall = <T>(method: grpc.MethodDefinition<unknown, T>, request: unknown, onData: (message: T) => void) => {
    const stream = client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata(),
      deadline(),
    );
    stream.on("data", onData);
    // Every call ends with exactly one status; the "error" event repeats it for non-OK ones.
    stream.on("error", () => {});
    return stream;
  };
  return new Promise((resolve) => {
    let call: grpc.ClientReadableStream<unknown> | grpc.ClientUnaryCall | grpc.ClientDuplexStream<unknown, unknown>;
    let health: ServingStatus | undefined;
    switch (settings.method) {
      case "chat": {
        const request = create(ChatRequestSchema, { name: settings.name, text: settings.text });
        call = streamCall(chatServiceDefinition.chat as grpc.MethodDefinition<unknown, ChatResponse>, request, (r) =>
          reporter.message(r.index, r.text, r.sentAt && timestampDate(r.sentAt)),
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
          metadata(),
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
      case "dynamic": {
        call = grpcJsDynamicCall(client, settings, reporter, metadata(), deadline());
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
  });
}

/**
 * A call to the user's own method (--method, issue 28), its messages encoded
 * and decoded with the schema's descriptors: unary, server-streaming,
 * client-streaming (the one request, then the end of the stream) or bidi
 * (the one request, the send side left open until the call ends).
 */
function grpcJsDynamicCall(
  client: grpc.Client,
  settings: ClientSettings,
  reporter: CallReporter,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
): grpc.ClientReadableStream<unknown> | grpc.ClientUnaryCall | grpc.ClientDuplexStream<unknown, unknown> {
  const method = resolveDynamicMethod(settings.dynamic as NonNullable<ClientSettings["dynamic"]>);
  const serialize = () => Buffer.from(method.requestBytes);
  const deserialize = (bytes: Buffer) => method.decode(bytes);
  const one = (_error: grpc.ServiceError | null, response?: unknown) => {
    if (response) reporter.message(1, method.describe(response as Parameters<typeof method.describe>[0]), undefined);
  };
  let index = 0;
  const each = (response: unknown) =>
    reporter.message(++index, method.describe(response as Parameters<typeof method.describe>[0]), undefined);
  switch (method.desc.methodKind) {
    case "unary":
      return client.makeUnaryRequest(method.path, serialize, deserialize, null, metadata, options, one);
    case "client_streaming": {
      const call = client.makeClientStreamRequest(method.path, serialize, deserialize, metadata, options, one);
      call.write(null);
      call.end();
      return call;
    }
    case "server_streaming": {
      const call = client.makeServerStreamRequest(method.path, serialize, deserialize, null, metadata, options);
      call.on("data", each);
      call.on("error", () => {});
      return call;
    }
    case "bidi_streaming": {
      const call = client.makeBidiStreamRequest(method.path, serialize, deserialize, metadata, options);
      call.on("data", each);
      call.on("error", () => {});
      call.write(null);
      return call;
    }
  }
}

/**
 * The :authority of calls to a --target: an `ipv4:` list of backends names
 * no host, and gRPC core then sends the list itself ("127.0.0.1:P1,127.0.0.2:P2",
 * seen on the wire), which connect-node cannot parse (our Connect server
 * answers HTTP 400: server.ts). A service behind a DNS name sends that name;
 * the lab's backends are called as one.
 */
export const targetAuthority = "localhost";

/**
 * The service config both grpc-js and gRPC core read (grpc.service_config):
 * the load-balancing policy, client-side health checking (health-checking.md),
 * and a retry policy for every method (gRFC A6), or undefined when the
 * settings ask for none of them. The grpcio client writes
 * the same (peers/grpcio/client.py).
 */
export function grpcServiceConfig(settings: ClientSettings): Record<string, unknown> | undefined {
  if (settings.lbPolicy === undefined && settings.retryAttempts <= 1 && !settings.healthCheck) return undefined;
  return {
    ...(settings.lbPolicy && { loadBalancingConfig: [{ [settings.lbPolicy]: {} }] }),
    ...(settings.healthCheck && { healthCheckConfig: { serviceName: "" } }),
    ...(settings.retryAttempts > 1 && {
      methodConfig: [
        {
          name: [{ service: "chat.v1.ChatService" }, { service: "grpc.health.v1.Health" }],
          retryPolicy: {
            maxAttempts: settings.retryAttempts,
            initialBackoff: `${retryPolicy.initialBackoffMs / 1000}s`,
            maxBackoff: `${retryPolicy.maxBackoffMs / 1000}s`,
            backoffMultiplier: retryPolicy.multiplier,
            retryableStatusCodes: ["UNAVAILABLE"],
          },
        },
      ],
    }),
  };
}
