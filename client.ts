/**
 * The Chat client on connect-node: one call, each message printed as it
 * arrives, then the ConnectError code it ended with.
 *
 *   node --import tsx client.ts --protocol connect --ping-interval-ms 1000
 *
 * Ctrl-C aborts the call through an AbortController: it ends `canceled` at
 * once, also when the server is suspended and sends nothing.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ChatService } from "./gen/chat_pb.ts";
import { Health } from "./gen/grpc/health/v1/health_pb.ts";
import { parseFlags, runCli } from "./lib/cli.ts";
import { authority, type ClientSettings, clientFlags, readClientSettings } from "./lib/client-flags.ts";
import { ServingStatus, servingStatusName } from "./lib/health-status.ts";
import { createIdleTimeoutInterceptor } from "./lib/idle-timeout-interceptor.ts";
import { runCalls } from "./lib/run-calls.ts";

function createTransport(settings: ClientSettings): Transport {
  const interceptors: Interceptor[] =
    settings.idleTimeoutMs !== undefined
      ? [createIdleTimeoutInterceptor({ idleTimeoutMs: settings.idleTimeoutMs })]
      : [];
  // Keepalive lives in the HTTP/2 session options; undefined keeps the defaults (no PINGs).
  const options = {
    baseUrl: `http://${authority(settings.host, settings.port)}`,
    interceptors,
    ...(settings.pingIntervalMs !== undefined && { pingIntervalMs: settings.pingIntervalMs }),
    ...(settings.pingTimeoutMs !== undefined && { pingTimeoutMs: settings.pingTimeoutMs }),
  };
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

runCli("client", async () => {
  const settings = readClientSettings(
    parseFlags({
      program: "client",
      summary: "one Chat call (or a health check) with connect-node",
      flags: clientFlags,
    }),
  );
  // One transport for every call: --calls shows whether it recovers after a server restart.
  const transport = createTransport(settings);
  const client = createClient(ChatService, transport);
  const health = createClient(Health, transport);
  const request = { service: settings.healthService };
  await runCalls({
    client: "connect",
    settings,
    async call(reporter, interrupt) {
      const abort = new AbortController();
      const onInterrupt = () => abort.abort(new ConnectError("interrupted by SIGINT", Code.Canceled));
      if (interrupt.aborted) onInterrupt();
      interrupt.addEventListener("abort", onInterrupt, { once: true });
      const options = { signal: abort.signal, timeoutMs: settings.timeoutMs };
      try {
        switch (settings.method) {
          case "chat":
            for await (const response of client.chat({ name: settings.name, text: settings.text }, options)) {
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
  });
});
