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
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ChatService } from "./gen/chat_pb.ts";
import { createCallReporter } from "./lib/call-report.ts";
import { parseFlags, runCli } from "./lib/cli.ts";
import { authority, type ClientSettings, clientFlags, readClientSettings } from "./lib/client-flags.ts";

function createTransport(settings: ClientSettings): Transport {
  const baseUrl = `http://${authority(settings.host, settings.port)}`;
  // Keepalive lives in the HTTP/2 session options; undefined keeps the defaults (no PINGs).
  const http2Options = {
    baseUrl,
    ...(settings.pingIntervalMs !== undefined && { pingIntervalMs: settings.pingIntervalMs }),
    ...(settings.pingTimeoutMs !== undefined && { pingTimeoutMs: settings.pingTimeoutMs }),
  };
  switch (settings.protocol) {
    case "grpc":
      // gRPC is always HTTP/2 in connect-node: this transport takes no httpVersion.
      return createGrpcTransport(http2Options);
    case "connect":
      return createConnectTransport({ ...http2Options, httpVersion: "2" });
    case "grpc-web":
      return createGrpcWebTransport({ ...http2Options, httpVersion: "2" });
  }
}

runCli("client", async () => {
  const settings = readClientSettings(
    parseFlags({ program: "client", summary: "one Chat call with connect-node", flags: clientFlags }),
  );
  const client = createClient(ChatService, createTransport(settings));
  const reporter = createCallReporter({
    client: "connect",
    protocol: settings.protocol,
    target: authority(settings.host, settings.port),
    json: settings.json,
  });

  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort(new ConnectError("interrupted by SIGINT", Code.Canceled)));

  let code = Code.Canceled as number;
  let message = "";
  try {
    const stream = client.chat(
      { name: settings.name, text: settings.text },
      { signal: abort.signal, timeoutMs: settings.timeoutMs },
    );
    for await (const response of stream) {
      reporter.message(response.index, response.text, response.sentAt && timestampDate(response.sentAt));
    }
    code = 0;
  } catch (e) {
    const error = ConnectError.from(e);
    code = error.code;
    message = error.rawMessage;
  }
  // Exit explicitly: the transport's HTTP/2 session may still hold the event loop.
  process.exit(reporter.finish(code, message));
});
