import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
  type Http2SessionOptions,
} from "@connectrpc/connect-node";
import type { CallReporter } from "./call-report.ts";
import type { CallEnd, Caller } from "./caller.ts";
import { authority, type ClientSettings, refuseGrpcOnlyFlags, retryPolicy } from "./client-flags.ts";
import { createIdleTimeoutInterceptor } from "./idle-timeout-interceptor.ts";
import { createRetryInterceptor } from "./retry-interceptor.ts";

/**
 * The services a connect-node caller calls, as its release describes them:
 * this project's generated code for connect-node 2 (lib/connect-caller.ts),
 * a release's own for connect-node 1 (releases/connect-v1-caller.ts, issue
 * 18). Everything else, from the transport to the codes, is the same code.
 */
export interface ConnectServices {
  chat: DescService;
  /** grpc.health.v1.Health, and how its statuses read; none: the health methods end unimplemented. */
  health?: { service: DescService; statusName(status: number): string; serving: number };
  /** When the server sent a response (its sent_at field). */
  sentAt(response: unknown): Date | undefined;
  /** connect-node 1 wants httpVersion "2" on its gRPC transport too (2 refuses one). */
  grpcHttpVersion?: boolean;
  /**
   * A call to the user's own method from its schema (--method, issue 28: lib/connect-dynamic-call.ts);
   * none: such calls end unimplemented (a release's bundle carries another @bufbuild/protobuf).
   */
  dynamicCall?: (
    transport: Transport,
    settings: ClientSettings,
    reporter: CallReporter,
    options: { signal: AbortSignal; timeoutMs: number | undefined },
  ) => Promise<CallEnd>;
}

/** What a caller without calls from a schema answers one. */
const noDynamic = { code: Code.Unimplemented, message: "this client makes no calls from a schema (--method)" };

/** What a caller without the health service's descriptors answers a health call. */
const noHealth = { code: Code.Unimplemented, message: "this client has no grpc.health.v1 descriptors" };

/** A transport for the settings, on an HTTP/2 session manager of its own. */
function createTransport(
  settings: ClientSettings,
  baseUrl: string,
  sessionManager: Http2SessionManager,
  services: ConnectServices,
): Transport {
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
  // defaultTimeoutMs is the profile's (--options): a deadline for every call that sets none.
  const { defaultTimeoutMs } = settings.libraryOptions as { defaultTimeoutMs?: number };
  const options = {
    baseUrl,
    interceptors,
    sessionManager,
    ...(defaultTimeoutMs !== undefined && { defaultTimeoutMs }),
  };
  switch (settings.protocol) {
    case "grpc":
      // gRPC is always HTTP/2 in connect-node 2: this transport takes no httpVersion.
      return createGrpcTransport({ ...options, ...(services.grpcHttpVersion && { httpVersion: "2" }) });
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
export function createConnectNodeCaller(settings: ClientSettings, services: ConnectServices): Caller {
  refuseGrpcOnlyFlags(settings, "connect-node");
  // Keepalive lives in the session manager's options; undefined keeps the defaults (no PINGs).
  const baseUrl = `${settings.tlsCa ? "https" : "http"}://${authority(settings.host, settings.port)}`;
  const { pingIntervalMs, pingTimeoutMs, pingIdleConnection, idleConnectionTimeoutMs } = settings.libraryOptions;
  const sessionManager = new Http2SessionManager(
    baseUrl,
    {
      // The profile's options (--options) under the flags: a flag is the case's remedy.
      ...({ pingIntervalMs, pingTimeoutMs, pingIdleConnection, idleConnectionTimeoutMs } as Http2SessionOptions),
      ...(settings.pingIntervalMs !== undefined && { pingIntervalMs: settings.pingIntervalMs }),
      ...(settings.pingTimeoutMs !== undefined && { pingTimeoutMs: settings.pingTimeoutMs }),
      ...(settings.pingIdle && { pingIdleConnection: true }),
      // Over TLS (issue 19), Node's own: ALPN h2, the server's certificate checked against the lab's CA.
    },
    settings.tlsCa && { ca: settings.tlsCa },
  );
  const transport = createTransport(settings, baseUrl, sessionManager, services);
  // biome-ignore lint/suspicious/noExplicitAny: the chat method's shape is Chat's, in either release's descriptors
  const client = createClient(services.chat, transport) as any;
  // biome-ignore lint/suspicious/noExplicitAny: as above, grpc.health.v1.Health's
  const health = services.health && (createClient(services.health.service, transport) as any);
  const statusName = (status: number) => services.health?.statusName(status) ?? String(status);
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
              reporter.message(response.index, response.text, services.sentAt(response));
            }
            return { code: 0, message: "" };
          case "health-check": {
            if (!health) return noHealth;
            const { status } = await health.check(request, options);
            reporter.message(1, statusName(status), undefined);
            return { code: 0, message: "", unhealthy: status !== services.health?.serving };
          }
          case "health-watch": {
            if (!health) return noHealth;
            let index = 0;
            for await (const { status } of health.watch(request, options)) {
              reporter.message(++index, statusName(status), undefined);
            }
            return { code: 0, message: "" };
          }
          case "dynamic":
            if (!services.dynamicCall) return noDynamic;
            return await services.dynamicCall(transport, call, reporter, options);
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
