import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ChatService } from "../gen/chat_pb.ts";
import { startServer } from "../lab/engine/child-process.ts";
import { openSlowReaders } from "../lab/faults/slow-reader.ts";
import { mib, readServerMemory } from "../lab/testing/server-memory.ts";
import { defaultMaxStreams, defaultMaxUnsentBytes } from "../lib/server-flags.ts";
import { type Summary, summarize } from "./stats.ts";

/** The servers' bounds on what one connection holds (issue 21): the defaults, or none. */
export type SlowReaderBounds = "default" | "off";

export interface SlowReaderRow {
  server: "connect" | "grpc-js";
  bounds: SlowReaderBounds;
  /** --max-streams and --max-unsent-bytes as run. */
  maxStreams: number;
  maxUnsentBytes: number;
  /** Streams the probe opened, and those whose handler started (the rest were refused: REFUSED_STREAM). */
  streams: number;
  admitted: number;
  /** Heap used after a full GC and RSS, MiB: before, while the streams are held, after the write-stall timeout. */
  heapMiB: { before: number; held: number; after: number };
  rssMiB: { before: number; held: number; after: number };
  /** A normal client on a connection of its own during the attack: ms to each call's first message, and failures. */
  normalFirstMessageMs: Summary;
  normalFailed: number;
  /** Admitted streams the write-stall timeout reset; handlers still running after it. */
  stalled: number;
  handlersAfter: number;
  /** From the first stall line to the last, s. */
  releaseS: number;
}

/** Normal Chat calls, one after another, each on a connection of its own: ms to message 1. */
async function normalCalls(port: number, calls: number): Promise<{ firstMs: number[]; failed: number }> {
  const firstMs: number[] = [];
  let failed = 0;
  for (let i = 0; i < calls; i++) {
    const client = createClient(ChatService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    const start = performance.now();
    try {
      for await (const _ of client.chat({ name: "normal" }, { timeoutMs: 5000 })) {
        firstMs.push(Math.round((performance.now() - start) * 10) / 10);
        break;
      }
    } catch (e) {
      if (ConnectError.from(e).code !== Code.Canceled) failed++;
    }
  }
  return { firstMs, failed };
}

/**
 * The zero-window probe of issue 21: `streams` Chat calls, 100 per
 * connection, whose clients never open their flow-control window (requests
 * and replies of 100 kB), against each server with its default bounds on
 * what a connection holds and with none, while a normal client calls on a
 * connection of its own; the write-stall timeout ends them.
 */
export async function measureSlowReaders(streams: number, stallTimeoutMs: number): Promise<SlowReaderRow[]> {
  const rows: SlowReaderRow[] = [];
  for (const [id, entry] of [
    ["connect", "server"],
    ["grpc-js", "peers/grpc-js-server"],
  ] as const) {
    for (const bounds of ["default", "off"] as const) {
      const maxStreams = bounds === "default" ? defaultMaxStreams : 2 ** 31 - 1;
      const maxUnsentBytes = bounds === "default" ? defaultMaxUnsentBytes : 2 ** 31 - 1;
      const { server, port } = await startServer({
        entry,
        nodeArgs: ["--expose-gc"],
        args: [
          ...["--interval-ms", "50", "--quiet", "--write-stall-timeout-ms", String(stallTimeoutMs)],
          ...["--max-streams", String(maxStreams), "--max-unsent-bytes", String(maxUnsentBytes)],
        ],
      });
      try {
        const before = await readServerMemory(server);
        const readers = openSlowReaders({ port, streams });
        const count = (pattern: RegExp) => server.lines.filter((l) => pattern.test(l.text)).length;
        // Every admitted stream's handler started (a handler waiting for room has sent no headers
        // yet: the probe cannot see it, the log can).
        const expected = Math.ceil(streams / 100) * Math.min(100, maxStreams);
        for (let i = 0; i < 600 && count(/ started: peer /) < expected; i++) await sleep(50);
        const admitted = count(/ started: peer /);
        // Long enough for every handler to make all its replies if nothing held them back.
        await sleep(1000);
        const normal = await normalCalls(port, 10);
        const held = await readServerMemory(server);
        // Those that waited for room reset at the timeout; those that got room then, one later.
        for (let i = 0; i < 1200 && count(/ write stalled: /) < admitted; i++) await sleep(50);
        const stallLines = server.lines.filter((l) => / write stalled: /.test(l.text));
        readers.close();
        await sleep(300);
        const after = await readServerMemory(server);
        rows.push({
          server: id,
          bounds,
          maxStreams,
          maxUnsentBytes,
          streams,
          admitted,
          heapMiB: { before: mib(before.heapUsed), held: mib(held.heapUsed), after: mib(after.heapUsed) },
          rssMiB: { before: mib(before.rss), held: mib(held.rss), after: mib(after.rss) },
          normalFirstMessageMs: summarize(normal.firstMs),
          normalFailed: normal.failed,
          stalled: stallLines.length,
          handlersAfter: after.handlers,
          releaseS:
            stallLines.length > 1
              ? Math.round((stallLines[stallLines.length - 1].at - stallLines[0].at) / 100) / 10
              : 0,
        });
      } finally {
        await server.stop();
      }
    }
  }
  return rows;
}
