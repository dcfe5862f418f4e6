import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { ChatService } from "../gen/chat_pb.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import type { Caller } from "./caller.ts";
import { authority, type ClientSettings, refuseGrpcOnlyFlags, retryPolicy } from "./client-flags.ts";
import { ServingStatus, servingStatusName } from "./health-status.ts";
import { createIdleTimeoutInterceptor } from "./idle-timeout-interceptor.ts";
import { createRetryInterceptor } from "./retry-interceptor.ts";

/** A transport for the settings, on an HTTP/2 session manager of its own. */
function createTransport(settings: ClientSettings, baseUrl: string, sessionManager: Http2SessionManager): Transport {
  const interceptors: Interceptor[] = [
    // The retries outside the idle timeout: each attempt gets its own watchdog.
    ...(settings.retryAttempts > 1
      ? [
          createRetryInterceptor({
            maxAttempts: settings.retryAttempts,
            initialBackoffMs: retryPolicy.initialBackoffMs,
            maxBackoffMs: retryPolicy.maxBackoffMs,
            multiplier: retryPolicy.multiplier,
          }),
        ]
      : []),
    ...(settings.idleTimeoutMs !== undefined
      ? [createIdleTimeoutInterceptor({ idleTimeoutMs: settings.idleTimeoutMs })]
      : []),
  ];
  const options = { baseUrl, interceptors, sessionManager };
  switch (settings.protocol) {
    case "grpc":
      // gRPC is always HTTP/2 in connect-node: this transport takes no httpVersion.
      return createGrpcTransport(options);
    case "connect":
      return createConnectTransport({ ...options, httpVersion: "2" });
    case "grpc-web":
      return createGrpcWebTransport({ ...options, httpVersion: "2" });
  }
}

/**
 * Calls with connect-node on one transport. Its HTTP/2 session manager is
 * ours, so that close() can end the connection at once: left alone, an idle
 * connection stays open for idleConnectionTimeoutMs (15 min).
 */
export function createConnectCaller(settings: ClientSettings): Caller {
  refuseGrpcOnlyFlags(settings, "connect-node");
  // Keepalive lives in the session manager's options; undefined keeps the defaults (no PINGs).
  const baseUrl = `http://${authority(settings.host, settings.port)}`;
  const sessionManager = new Http2SessionManager(baseUrl, {
    ...(settings.pingIntervalMs !== undefined && { pingIntervalMs: settings.pingIntervalMs }),
    ...(settings.pingTimeoutMs !== undefined && { pingTimeoutMs: settings.pingTimeoutMs }),
    ...(settings.pingIdle && { pingIdleConnection: true }),
  });
  const transport = createTransport(settings, baseUrl, sessionManager);
  const client = createClient(ChatService, transport);
  const health = createClient(Health, transport);
  return {
    // Not at once: connect-node 2.1.2 destroys a connection whose PING timed out and lets Node emit
    // the error on the session a moment later; abort() (or a new call) in between removes the
    // manager's error listener first, and the error ends the process (README, "What the lab
    // found"; docs/repro/ping-timeout-retry.mts). Node emits it in the loop turn the socket closes.
    close: () => setTimeout(() => sessionManager.abort(), 100).unref(),
    async call(reporter, interrupt, overrides = {}) {
      const call = { ...settings, ...overrides };
      refuseGrpcOnlyFlags(call, "connect-node");
      const abort = new AbortController();
      // The reason says who interrupted: Ctrl-C, or the lab's cancel command to an agent.
      const onInterrupt = () => abort.abort(new ConnectError(String(interrupt.reason ?? "interrupted"), Code.Canceled));
      if (interrupt.aborted) onInterrupt();
      interrupt.addEventListener("abort", onInterrupt, { once: true });
      const options = { signal: abort.signal, timeoutMs: call.timeoutMs };
      const request = { service: call.healthService };
      try {
        switch (call.method) {
          case "chat":
            for await (const response of client.chat({ name: call.name, text: call.text }, options)) {
              reporter.message(response.index, response.text, response.sentAt && timestampDate(response.sentAt));
            }
            return { code: 0, message: "" };
          case "health-check": {
            const { status } = await health.check(request, options);
            reporter.message(1, servingStatusName(status), undefined);
            return { code: 0, message: "", unhealthy: status !== ServingStatus.SERVING };
          }
          case "health-watch": {
            let index = 0;
            for await (const { status } of health.watch(request, options)) {
              reporter.message(++index, servingStatusName(status), undefined);
            }
            return { code: 0, message: "" };
          }
        }
      } catch (e) {
        const error = ConnectError.from(e);
        return { code: error.code, message: error.rawMessage };
      } finally {
        interrupt.removeEventListener("abort", onInterrupt);
      }
    },
  };
}
