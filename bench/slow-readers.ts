import { setTimeout as sleep } from "node:timers/promises";
import { startServer } from "../lab/engine/child-process.ts";
import { openSlowReaders } from "../lab/faults/slow-reader.ts";
import { mib, readServerMemory } from "../lab/testing/server-memory.ts";

export interface SlowReaderRow {
  server: "connect" | "grpc-js";
  /** --max-unsent-bytes: the default 1 MiB, or unbounded (2^31-1) to show what the bound holds back. */
  budget: "1 MiB" | "unbounded";
  streams: number;
  /** Heap used after a full GC and RSS, MiB: before, while the streams are held, after the write-stall timeout. */
  heapMiB: { before: number; held: number; after: number };
  rssMiB: { before: number; held: number; after: number };
  /** Streams the write-stall timeout reset, of all; handlers still running after it. */
  stalled: number;
  handlersAfter: number;
  /** From the first stall line to the last, s. */
  releaseS: number;
}

/**
 * The zero-window probe of issue 13: `streams` Chat calls whose clients
 * never open their flow-control window (replies of 100 kB), 100 per
 * connection, against each server with the default budget of unsent replies
 * per connection and with none; the write-stall timeout ends them.
 */
export async function measureSlowReaders(streams: number, stallTimeoutMs: number): Promise<SlowReaderRow[]> {
  const rows: SlowReaderRow[] = [];
  for (const [id, entry] of [
    ["connect", "server"],
    ["grpc-js", "peers/grpc-js-server"],
  ] as const) {
    for (const budget of ["1 MiB", "unbounded"] as const) {
      const { server, port } = await startServer({
        entry,
        nodeArgs: ["--expose-gc"],
        args: [
          ...["--interval-ms", "50", "--quiet", "--write-stall-timeout-ms", String(stallTimeoutMs)],
          ...(budget === "unbounded" ? ["--max-unsent-bytes", String(2 ** 31 - 1)] : []),
        ],
      });
      try {
        const before = await readServerMemory(server);
        const readers = openSlowReaders({ port, streams });
        const count = (pattern: RegExp) => server.lines.filter((l) => pattern.test(l.text)).length;
        for (let i = 0; i < 600 && count(/ started: /) < streams; i++) await sleep(50);
        // Long enough for every handler to make all its replies if nothing held them back.
        await sleep(1000);
        const held = await readServerMemory(server);
        for (let i = 0; i < 600 && count(/ write stalled: /) < streams; i++) await sleep(50);
        const stallLines = server.lines.filter((l) => / write stalled: /.test(l.text));
        readers.close();
        await sleep(300);
        const after = await readServerMemory(server);
        rows.push({
          server: id,
          budget,
          streams,
          heapMiB: { before: mib(before.heapUsed), held: mib(held.heapUsed), after: mib(after.heapUsed) },
          rssMiB: { before: mib(before.rss), held: mib(held.rss), after: mib(after.rss) },
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
