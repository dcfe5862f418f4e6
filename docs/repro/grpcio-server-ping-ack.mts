/**
 * How does a grpcio server treat a client that PINGs a silent stream every 250 ms (the lab's
 * stall+keepalive, issue 27)? A grpcio server (a child process: one message, then nothing) and a
 * raw node:http2 client, no lab code, that PINGs every 250 ms after the first message and prints
 * each PING's round trip and any GOAWAY. Measured: 1.85.1 and 1.51.1 as shipped answer four
 * PINGs, then GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"); with min_ping_interval_without_data_ms
 * 50 they answer every PING at once.
 *   node --import tsx docs/repro/grpcio-server-ping-ack.mts peers/grpcio/.venv/bin/python [50]
 *   node --import tsx docs/repro/grpcio-server-ping-ack.mts /usr/bin/python3 [50]
 */
import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import { createInterface } from "node:readline";

const python = process.argv[2] ?? "python3";
const minPing = process.argv[3];
const server = spawn(
  python,
  [
    "-c",
    `
import asyncio, grpc, sys
async def chat(request, context):
    yield b"reply 1"
    await asyncio.Event().wait()
async def main():
    options = [("grpc.http2.min_ping_interval_without_data_ms", int(sys.argv[1]))] if len(sys.argv) > 1 else []
    server = grpc.aio.server(options=options)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "chat.v1.ChatService", {"Chat": grpc.unary_stream_rpc_method_handler(chat)})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()
asyncio.run(main())
`,
    ...(minPing ? [minPing] : []),
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
// However this program ends, the server it started ends with it.
process.on("exit", () => server.kill("SIGKILL"));
const out = server.stdout;
if (!out) throw new Error("the server's stdout is not a pipe");
const port = await new Promise<string>((resolve) => createInterface({ input: out }).once("line", resolve));
const version = await new Promise<string>((resolve) => {
  const p = spawn(python, ["-c", "import grpc; print(grpc.__version__)"]);
  p.stdout.on("data", (d) => resolve(String(d).trim()));
});
console.log(`grpcio ${version} server, min_ping_interval_without_data_ms ${minPing ?? "(default)"}`);
const session = http2.connect(`http://127.0.0.1:${port}`);
session.on("error", () => {});
session.on("goaway", (code, _last, data) => console.log(`GOAWAY code ${code} "${data?.toString() ?? ""}"`));
const req = session.request({
  ":method": "POST",
  ":path": "/chat.v1.ChatService/Chat",
  "content-type": "application/grpc",
  te: "trailers",
});
req.end(Buffer.alloc(5));
req.once("data", () => {
  console.log("message 1 arrived; PING every 250 ms");
  const start = performance.now();
  const timer = setInterval(() => {
    const sent = performance.now();
    const ok = session.ping((err) => {
      const at = Math.round(sent - start);
      console.log(
        err
          ? `PING at ${at} ms: ${err.message}`
          : `PING at ${at} ms: ACK after ${Math.round(performance.now() - sent)} ms`,
      );
    });
    if (!ok) console.log("ping not sent");
  }, 250);
  setTimeout(() => {
    clearInterval(timer);
    session.destroy();
    server.kill("SIGKILL");
  }, 3000);
});
req.on("error", (e) => console.log("stream error", e.message));
// A GOAWAY ends the session before the 3 s are up: end there too.
session.on("close", () => setTimeout(() => process.exit(0), 100));
req.on("close", () => console.log("stream closed", req.rstCode));
