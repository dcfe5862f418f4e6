/**
 * connect-node 2.1.2: a call made right after a keepalive PING timed out (a
 * retry) crashes the process with an unhandled 'error' event.
 *
 *   node --import tsx docs/repro/ping-timeout-retry.mts retry   # the process dies
 *   node --import tsx docs/repro/ping-timeout-retry.mts abort   # the same with sessionManager.abort()
 *   node --import tsx docs/repro/ping-timeout-retry.mts wait    # waiting a moment first: no crash
 *
 * Why: on a PING timeout, Http2SessionManager calls session.destroy(error);
 * Node emits that error on the session when its socket has closed, a moment
 * later. A new request (or abort()) in between moves the manager to a new
 * state, whose cleanup removes the 'error' listener first: the error then
 * has no listener, and Node throws it.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService } from "../../gen/chat_pb.ts";

const mode = process.argv[2] ?? "retry";
const server = spawn(process.execPath, ["--import", "tsx", "server.ts", "--port", "0", "--quiet"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const [line] = (await once(server.stdout, "data")) as [Buffer];
const port = /:(\d+) /.exec(String(line))?.[1];
const baseUrl = `http://127.0.0.1:${port}`;
const sessionManager = new Http2SessionManager(baseUrl, { pingIntervalMs: 100, pingTimeoutMs: 100 });
const client = createClient(ChatService, createGrpcTransport({ baseUrl, sessionManager }));
process.on("exit", () => {
  server.kill("SIGCONT");
  server.kill("SIGKILL");
});
try {
  for await (const message of client.chat({ name: "alice" })) {
    console.log(`message ${message.index}; suspending the server (SIGSTOP)`);
    server.kill("SIGSTOP");
  }
} catch (e) {
  console.log(`the call ended: ${String(e)}`);
  if (mode === "wait") await new Promise((resolve) => setTimeout(resolve, 100));
  if (mode === "abort") sessionManager.abort();
  else
    client
      .chat({ name: "bob" })
      [Symbol.asyncIterator]()
      .next()
      .catch((e2) => console.log(`retry: ${String(e2)}`));
}
await new Promise((resolve) => setTimeout(resolve, 500));
console.log("still alive 500 ms later: no crash");
process.exit(0);
