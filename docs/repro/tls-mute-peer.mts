/**
 * Over TLS, does HTTP/2 keepalive find a peer that accepts TCP and never
 * answers the TLS handshake (issue 19)? A TCP server that reads and says
 * nothing, and a connect-node client with keepalive every 100 ms (timeout
 * 100 ms) and no deadline. Over h2c the call ends "PING timed out" within a
 * second; over TLS nothing ends it: keepalive starts with the HTTP/2
 * session, and the session waits for the handshake. No lab code is used.
 *
 *   node --import tsx docs/repro/tls-mute-peer.mts
 */
import { createServer } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService } from "../../gen/chat_pb.ts";

const mute = createServer((socket) => socket.on("error", () => {}));
await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", resolve));
const port = (mute.address() as { port: number }).port;

for (const scheme of ["http", "https"] as const) {
  const baseUrl = `${scheme}://127.0.0.1:${port}`;
  const sessionManager = new Http2SessionManager(baseUrl, {
    pingIntervalMs: 100,
    pingTimeoutMs: 100,
    pingIdleConnection: true,
  });
  const client = createClient(ChatService, createGrpcTransport({ baseUrl, sessionManager }));
  const start = performance.now();
  const watchdog = AbortSignal.timeout(5000);
  try {
    for await (const _ of client.chat({ name: "alice", text: "are you there?" }, { signal: watchdog })) {
    }
    console.log(`${scheme}: ok`);
  } catch (e) {
    const error = ConnectError.from(e);
    const hung = watchdog.aborted ? " (our 5 s watchdog: nothing else ended it)" : "";
    console.log(
      `${scheme}: ${Code[error.code]} "${error.rawMessage}" after ${Math.round(performance.now() - start)} ms${hung}`,
    );
  }
  // Not at once: connect-node 2.1.2 ends the process if abort() comes right after a PING timeout
  // (docs/repro/ping-timeout-retry.mts).
  await new Promise((resolve) => setTimeout(resolve, 200));
  sessionManager.abort();
}
mute.close();
process.exit(0);
