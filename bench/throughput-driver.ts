/**
 * The load side of the throughput benchmark, as a process of its own: opens
 * --streams Chat streams (the server sends without pause) to each of
 * --ports in turn, A B A B ... for --rounds rounds, and counts the messages
 * that arrive in a --window-ms window after --warmup-ms. Prints one JSON
 * line: messages per second, per port, per round.
 *
 *   node --import tsx bench/throughput-driver.ts --client connect --ports 50051,50052 --streams 16
 */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { ChatRequestSchema, ChatService } from "../gen/chat_pb.ts";
import { choiceFlag, intFlag, parseFlags, runCli, stringFlag, UsageError } from "../lib/cli.ts";
import { chatServiceDefinition } from "../lib/grpc-js-service.ts";

/** Streams per connection: under the servers' cap of 100, so none wait in a queue. */
const streamsPerConnection = 64;

/** Opens `streams` streams to `port`; `onMessage` runs per message with the stream's number; the returned function ends them all. */
type OpenStreams = (port: number, streams: number, onMessage: (stream: number) => void) => () => void;

const openConnect: OpenStreams = (port, streams, onMessage) => {
  const abort = new AbortController();
  // One listener per stream on this signal, by design.
  setMaxListeners(0, abort.signal);
  const managers = Array.from(
    { length: Math.ceil(streams / streamsPerConnection) },
    () => new Http2SessionManager(`http://127.0.0.1:${port}`),
  );
  const clients = managers.map((sessionManager) =>
    createClient(ChatService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager })),
  );
  for (let i = 0; i < streams; i++) {
    void (async () => {
      try {
        for await (const _ of clients[i % clients.length].chat({ name: "bench" }, { signal: abort.signal }))
          onMessage(i);
      } catch (e) {
        if (ConnectError.from(e).code !== Code.Canceled) process.stderr.write(`stream ended: ${String(e)}\n`);
      }
    })();
  }
  return () => {
    abort.abort();
    for (const manager of managers) manager.abort();
  };
};

const openGrpcJs: OpenStreams = (port, streams, onMessage) => {
  const { path, requestSerialize, responseDeserialize } = chatServiceDefinition.chat;
  const request = create(ChatRequestSchema, { name: "bench" });
  // A local subchannel pool per client: each gets a connection of its own, as each connect-node session manager does.
  const clients = Array.from(
    { length: Math.ceil(streams / streamsPerConnection) },
    () =>
      new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
      }),
  );
  const calls = Array.from({ length: streams }, (_, i) => {
    const call = clients[i % clients.length].makeServerStreamRequest(
      path,
      requestSerialize,
      responseDeserialize,
      request,
    );
    call.on("data", () => onMessage(i));
    call.on("error", () => {});
    return call;
  });
  return () => {
    for (const call of calls) call.cancel();
    for (const client of clients) client.close();
  };
};

runCli("throughput-driver", async () => {
  const flags = parseFlags({
    program: "throughput-driver",
    summary: "count Chat messages per second from servers that send without pause",
    flags: {
      client: { type: "string", help: "connect (gRPC protocol) or grpc-js", default: "connect" },
      ports: { type: "string", help: "comma list of server ports, measured in turn" },
      streams: { type: "string", help: "concurrent streams", default: "1" },
      rounds: { type: "string", help: "windows per port", default: "5" },
      "window-ms": { type: "string", help: "counting window", default: "2000" },
      "warmup-ms": { type: "string", help: "time after opening the streams before counting", default: "500" },
      "settle-ms": {
        type: "string",
        help: "pause after closing the streams, so that a server's cleanup does not fall in the next window",
        default: "300",
      },
    },
  });
  const client = choiceFlag(flags, "client", ["connect", "grpc-js"] as const, "connect");
  const ports = stringFlag(flags, "ports", "")
    .split(",")
    .filter(Boolean)
    .map((p) => intFlag({ port: p }, "port", { default: 0, min: 1, max: 65535 }));
  if (ports.length === 0) throw new UsageError("--ports is required: one or more server ports, comma-separated");
  const streams = intFlag(flags, "streams", { default: 1, min: 1, max: 10_000 });
  const rounds = intFlag(flags, "rounds", { default: 5, min: 1, max: 100 });
  const windowMs = intFlag(flags, "window-ms", { default: 2000, min: 10 });
  const warmupMs = intFlag(flags, "warmup-ms", { default: 500 });
  const settleMs = intFlag(flags, "settle-ms", { default: 300 });
  const open = client === "connect" ? openConnect : openGrpcJs;

  const rates: Record<number, number[]> = Object.fromEntries(ports.map((port) => [port, []]));
  /** Ms from opening the streams to every one having its first message, per window. */
  const openMs: Record<number, number[]> = Object.fromEntries(ports.map((port) => [port, []]));
  for (let round = 0; round < rounds; round++) {
    for (const port of ports) {
      let counting = false;
      let count = 0;
      const flowing = new Set<number>();
      let allFlowing = () => {};
      const everyStreamFlowing = new Promise<void>((resolve) => {
        allFlowing = resolve;
      });
      const opened = performance.now();
      const close = open(port, streams, (stream) => {
        if (counting) count++;
        else if (flowing.size < streams && !flowing.has(stream) && flowing.add(stream).size === streams) allFlowing();
      });
      // Count only once every stream has its first message (256 streams take a while to open on a
      // busy machine), and the warm-up after that; give up waiting after 10 s.
      await Promise.race([everyStreamFlowing, sleep(10_000)]);
      openMs[port].push(Math.round(performance.now() - opened));
      await sleep(warmupMs);
      counting = true;
      const start = performance.now();
      await sleep(windowMs);
      counting = false;
      rates[port].push(Math.round((count * 1000) / (performance.now() - start)));
      close();
      // Cancelling 256 streams costs the server real work (each queued write fails with an
      // error): let it finish before the other server's window starts.
      await sleep(settleMs);
    }
  }
  process.stdout.write(`${JSON.stringify({ client, streams, windowMs, rates, openMs })}\n`);
  process.exit(0);
});
