/**
 * A raw node:http2 server that answers a Chat call (gRPC, gRPC-Web or
 * Connect) with message 1 and then does exactly one wrong thing, so that the
 * lab can see how each client maps HTTP/2-level faults to a status code
 * (gRPC PROTOCOL-HTTP2.md, "Errors"). Or, with --fault mute, it accepts TCP
 * and never speaks HTTP/2 at all.
 *
 *   node --import tsx peers/fault-peer.ts --fault rst-stream:2
 *   node --import tsx peers/fault-peer.ts --port 0 --fault rst-stream:2,goaway:0
 *
 * With several faults, each gets a listener of its own (--port 0 only): the
 * lab starts one fault peer for all its HTTP/2 cases.
 *
 * It prints `listening on HOST:PORT`, then `fault: ... (peer HOST:PORT) at
 * EPOCH_MS` the moment it commits the fault, so the lab can time the client
 * against it and tell its connections apart.
 *
 * Every stream is answered with `waitForTrailers: true`, whatever the
 * protocol: without it, Node ends the stream (DATA with END_STREAM) before
 * `stream.close(code)` can reset it, and the RST_STREAM that follows belongs
 * to a closed stream: the client reads a clean end, not a reset (issue 10).
 * `--sabotage` brings that mistake back on purpose, and makes every other
 * fault miss the wire too, so that tests can prove the lab's evidence check
 * catches a broken injector.
 */
import * as http2 from "node:http2";
import { createServer as createTcpServer, type Server as NetServer, type Socket as NetSocket } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { ChatResponseSchema } from "../gen/chat_pb.ts";
import { choiceFlag, intFlag, parseFlags, runCli, stringFlag, UsageError } from "../lib/cli.ts";
import { listenError } from "../lib/listen-error.ts";
import { createServerLog, type ServerLog } from "../lib/server-log.ts";
import { readServerTls, type ServerTls, serverTlsFlags } from "../lib/tls-flags.ts";
import { epochMs } from "../lib/wall-clock.ts";

export const peerFaults = [
  "rst-stream:0",
  "rst-stream:2",
  "rst-stream:7",
  "rst-stream:8",
  "rst-stream:11",
  "goaway:0",
  "goaway:2",
  "missing-status",
  "mute",
] as const;
type PeerFault = (typeof peerFaults)[number];

/** gRPC's 5-byte envelope: a flags byte, then the length, big-endian. Connect streaming uses the same. */
function envelope(flags: number, data: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

function protocolOf(contentType: string): "grpc" | "grpc-web" | "connect" {
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}

runCli("fault-peer", async () => {
  const flags = parseFlags({
    program: "fault-peer",
    summary: "answers Chat with message 1, then does one wrong thing at the HTTP/2 level",
    flags: {
      host: { type: "string", help: "address to listen on", default: "127.0.0.1" },
      port: { type: "string", help: "port; 0 picks a free one (one per fault)", default: "50051" },
      fault: { type: "string", help: `what goes wrong, or a comma list: ${peerFaults.join(", ")}` },
      "delay-ms": { type: "string", help: "pause between message 1 and the fault", default: "100" },
      ...serverTlsFlags,
      sabotage: {
        type: "boolean",
        help: "for tests: commit every fault wrongly (a clean end before the reset, a socket closed without GOAWAY, a status, bytes from the mute peer)",
      },
    },
  });
  if (flags.fault === undefined) throw new UsageError(`--fault is required: one of ${peerFaults.join(", ")}`);
  const faults = String(flags.fault)
    .split(",")
    .map((f) => choiceFlag({ fault: f.trim() }, "fault", peerFaults, "mute"));
  const host = stringFlag(flags, "host", "127.0.0.1");
  const port = intFlag(flags, "port", { default: 50051, max: 65535 });
  if (faults.length > 1 && port !== 0) throw new UsageError("--fault with several faults needs --port 0");
  const options: FaultOptions = {
    host,
    port,
    delayMs: intFlag(flags, "delay-ms", { default: 100 }),
    sabotage: flags.sabotage === true,
    tls: readServerTls(flags),
    log: createServerLog(),
    nextId: (() => {
      let next = 1;
      return () => next++;
    })(),
  };
  for (const fault of faults) await serveFault(fault, options);
});

interface FaultOptions {
  host: string;
  port: number;
  delayMs: number;
  sabotage: boolean;
  /** HTTP/2 over TLS (issue 19); undefined: h2c. */
  tls: ServerTls | undefined;
  log: ServerLog;
  /** Stream numbers for the log, shared by every listener. */
  nextId: () => number;
}

/** The moment a fault is committed, by the epoch, and on whose connection. */
function committed(what: string, peer: string): void {
  process.stdout.write(`fault: ${what} (peer ${peer}) at ${epochMs(performance.now()).toFixed(1)}\n`);
}

/** Listens for one fault and prints its `listening on` line. */
async function serveFault(fault: PeerFault, options: FaultOptions): Promise<void> {
  const { host, port, sabotage, log } = options;
  const listen = async (server: NetServer | http2.Http2Server | http2.Http2SecureServer) => {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) => reject(listenError(e, host, port)));
      server.listen(port, host, resolve);
    });
    const address = server.address();
    log.listening(host, typeof address === "object" && address ? address.port : port, `fault-peer ${fault}`);
  };

  if (fault === "mute") {
    // TCP accepted, then silence: no SETTINGS, no bytes, no close. Over TLS too: the client's
    // ClientHello goes unanswered, a peer that hangs before it says anything (issue 19).
    const server = createTcpServer((socket) => {
      socket.on("error", () => {});
      // Sabotaged, it speaks after all: the lab must see bytes where it expects none.
      if (sabotage) socket.write(Buffer.alloc(9));
      committed("accepted TCP, will never speak HTTP/2", `${socket.remoteAddress}:${socket.remotePort}`);
    });
    await listen(server);
    return;
  }

  const server = options.tls
    ? http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, ALPNProtocols: ["h2"] })
    : http2.createServer();
  server.on("sessionError", () => {});
  // The raw sockets, by the client's port: Node forbids touching a session's socket, and a sabotaged
  // GOAWAY must close one without the GOAWAY that session.destroy() would send.
  const sockets = new Map<number, NetSocket>();
  server.on("connection", (socket: NetSocket) => {
    const port = socket.remotePort ?? 0;
    sockets.set(port, socket);
    socket.once("close", () => sockets.delete(port));
  });
  server.on("stream", (stream, headers) => {
    const id = options.nextId();
    const protocol = protocolOf(String(headers["content-type"] ?? ""));
    const peer = `${stream.session?.socket.remoteAddress}:${stream.session?.socket.remotePort}`;
    log.streamStarted(id, peer, protocol);
    stream.on("error", () => {});
    // Read and drop the request: the reply does not depend on it.
    stream.resume();
    const contentType =
      protocol === "grpc"
        ? "application/grpc"
        : protocol === "grpc-web"
          ? "application/grpc-web+proto"
          : "application/connect+proto";
    // Trailers are ours to send (or not): the stream stays open after its last DATA until then,
    // so that a reset hits an open stream. Only a status-less gRPC-Web or Connect stream ends
    // with a plain END_STREAM, as such a stream would.
    const endsPlain = fault === "missing-status" && protocol !== "grpc";
    const brokenReset = sabotage && fault.startsWith("rst-stream");
    stream.respond({ ":status": 200, "content-type": contentType }, { waitForTrailers: !endsPlain && !brokenReset });
    const message = create(ChatResponseSchema, {
      index: 1,
      text: "hello from the fault peer, reply 1",
      sentAt: timestampNow(),
    });
    stream.write(envelope(0, toBinary(ChatResponseSchema, message)), () => log.sent(id, 1, 1));

    setTimeout(() => {
      // The client left first (a deadline, a cancel): there is no stream left to wrong.
      if (stream.destroyed) return;
      const [kind, arg] = fault.split(":");
      if (kind === "rst-stream") {
        committed(`RST_STREAM(${arg}) on stream ${stream.id}`, peer);
        stream.close(Number(arg));
      } else if (kind === "goaway") {
        // The stream was accepted (last-stream-id covers it), then the connection goes.
        committed(`GOAWAY(${arg}, last stream ${stream.id}) and close`, peer);
        if (sabotage) {
          // Sabotaged: the socket just closes. (session.destroy() would send a GOAWAY of its own.)
          sockets.get(stream.session?.socket.remotePort ?? 0)?.destroy();
        } else {
          stream.session?.goaway(Number(arg), stream.id);
          setTimeout(() => stream.session?.destroy(), 50);
        }
      } else if (sabotage) {
        committed(`end of stream without a status (${protocol})`, peer);
        // A status after all: an end-stream message, a trailer frame, or gRPC trailers.
        if (protocol === "connect") stream.end(envelope(0x02, Buffer.from("{}")));
        else if (protocol === "grpc-web") stream.end(envelope(0x80, Buffer.from("grpc-status: 0\r\n")));
        else {
          stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
          stream.end();
        }
      } else {
        committed(`end of stream without a status (${protocol})`, peer);
        if (protocol === "grpc") {
          stream.once("wantTrailers", () => stream.sendTrailers({ "x-note": "no grpc-status here" }));
          stream.end();
        } else if (protocol === "grpc-web") {
          // A trailer frame (flag 0x80) with no grpc-status in it.
          stream.end(envelope(0x80, Buffer.from("x-note: no grpc-status here\r\n")));
        } else {
          // Connect streaming ends with an end-stream message (flag 0x02); here there is none.
          stream.end();
        }
      }
    }, options.delayMs);
  });
  await listen(server);
}
