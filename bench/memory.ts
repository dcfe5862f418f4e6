import { create, toBinary } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../gen/chat_pb.ts";
import { startServer } from "../lab/engine/child-process.ts";
import { openChatStreams } from "../lab/testing/chat-streams.ts";
import { envelope } from "../lab/testing/h2-frames.ts";
import { readServerMemory } from "../lab/testing/server-memory.ts";
import { type Summary, summarize } from "./stats.ts";

export interface MemoryRow {
  server: "connect" | "grpc-js";
  streams: number;
  /** Per open stream, bytes: heap used after GC, and resident memory. */
  heapPerStream: Summary;
  rssPerStream: Summary;
  /** With the streams open, MiB. */
  heapMiB: Summary;
  rssMiB: Summary;
}

/** Opens `count` Chat streams over connections of the servers' default cap (16) and waits for message 1 on each; returns a closer. */
async function openStreams(port: number, count: number): Promise<() => void> {
  const body = envelope(toBinary(ChatRequestSchema, create(ChatRequestSchema, { name: "memory" })));
  const { sessions, flowing } = openChatStreams(port, count, body);
  await flowing;
  return () => {
    for (const session of sessions) session.destroy();
  };
}

/**
 * Memory of each server holding `streams` open Chat streams (an hour between
 * messages), against the same server idle, per stream; a fresh server per
 * round, Connect and grpc-js alternating.
 */
export async function measureMemory(streams: number, rounds: number): Promise<MemoryRow[]> {
  const samples = {
    connect: [] as { heap: number; rss: number; dHeap: number; dRss: number }[],
    "grpc-js": [] as { heap: number; rss: number; dHeap: number; dRss: number }[],
  };
  for (let round = 0; round < rounds; round++) {
    for (const [id, entry] of [
      ["connect", "server"],
      ["grpc-js", "peers/grpc-js-server"],
    ] as const) {
      const { server, port } = await startServer({
        entry,
        nodeArgs: ["--expose-gc"],
        args: ["--interval-ms", "3600000", "--count", "2", "--quiet"],
      });
      try {
        // Warm: code paths compiled, pools grown, then back to idle.
        (await openStreams(port, 50))();
        await new Promise((resolve) => setTimeout(resolve, 200));
        const idle = await readServerMemory(server);
        const close = await openStreams(port, streams);
        const busy = await readServerMemory(server);
        close();
        samples[id].push({
          heap: busy.heapUsed,
          rss: busy.rss,
          dHeap: (busy.heapUsed - idle.heapUsed) / streams,
          dRss: (busy.rss - idle.rss) / streams,
        });
      } finally {
        await server.stop();
      }
    }
  }
  const mib = (n: number) => n / 2 ** 20;
  return (["connect", "grpc-js"] as const).map((server) => ({
    server,
    streams,
    heapPerStream: summarize(samples[server].map((s) => s.dHeap)),
    rssPerStream: summarize(samples[server].map((s) => s.dRss)),
    heapMiB: summarize(samples[server].map((s) => mib(s.heap))),
    rssMiB: summarize(samples[server].map((s) => mib(s.rss))),
  }));
}
