import type { Entry } from "../lab/engine/build.ts";
import { type Child, spawnChild, startServer } from "../lab/engine/child-process.ts";
import { type Summary, summarize } from "./stats.ts";

export interface ThroughputRow {
  client: "connect" | "grpc-js";
  streams: number;
  /** Messages per second received, per window. */
  connectServer: Summary;
  grpcJsServer: Summary;
  /** Connect server / grpc-js server, per interleaved pair of windows. */
  ratio: Summary;
  /** Ms from opening the streams to every one having its first message (not counted in the rates). */
  connectOpenMs: Summary;
  grpcJsOpenMs: Summary;
}

export interface ThroughputOptions {
  concurrencies: readonly number[];
  /** Windows per server and cell, measured A B A B ... */
  rounds: number;
  windowMs: number;
  warmupMs: number;
  /** Pause after each window, so that a server's cleanup does not fall in the other's window. */
  settleMs: number;
}

/** Both servers, sending without pause, for as long as a stream lasts (a billion messages). */
async function startSenders(): Promise<{ connect: Child; grpcJs: Child; ports: [number, number] }> {
  // Every stream of a cell on one connection: a cap under the largest concurrency would measure
  // refused calls (connect-node does not queue past it), not throughput.
  const args = ["--interval-ms", "0", "--count", "1000000000", "--quiet", "--max-streams", "1024"];
  const connect = await startServer({ entry: "server", args });
  const grpcJs = await startServer({ entry: "peers/grpc-js-server", args });
  return { connect: connect.server, grpcJs: grpcJs.server, ports: [connect.port, grpcJs.port] };
}

async function drive(client: string, ports: [number, number], streams: number, o: ThroughputOptions, rounds: number) {
  const driver = spawnChild({
    entry: "bench/throughput-driver" as Entry,
    args: [
      "--client",
      client,
      "--ports",
      ports.join(","),
      "--streams",
      String(streams),
      "--rounds",
      String(rounds),
      "--window-ms",
      String(o.windowMs),
      "--warmup-ms",
      String(o.warmupMs),
      "--settle-ms",
      String(o.settleMs),
    ],
  });
  const exit = await driver.exited;
  const last = driver.lines[driver.lines.length - 1]?.text ?? "";
  if (exit.code !== 0) throw new Error(`throughput driver failed: ${driver.stderr().trim().split("\n").pop()}`);
  return JSON.parse(last) as { rates: Record<string, number[]>; openMs: Record<string, number[]> };
}

/**
 * Messages per second from the Connect server and from the grpc-js server,
 * received by each client at each concurrency; the two servers measured in
 * alternating windows by one driver process, so that a busy moment of the
 * machine falls on both alike. Both servers run --quiet (no line per
 * message), the same binary the lab runs.
 */
export async function measureThroughput(o: ThroughputOptions): Promise<ThroughputRow[]> {
  const { connect, grpcJs, ports } = await startSenders();
  const rows: ThroughputRow[] = [];
  try {
    for (const client of ["connect", "grpc-js"] as const) {
      // One short unmeasured round first: both servers and the client's code paths warm (JIT).
      await drive(client, ports, 16, { ...o, windowMs: Math.min(o.windowMs, 500) }, 1);
      for (const streams of o.concurrencies) {
        const { rates, openMs } = await drive(client, ports, streams, o, o.rounds);
        const [a, b] = [rates[ports[0]], rates[ports[1]]];
        rows.push({
          client,
          streams,
          connectServer: summarize(a),
          grpcJsServer: summarize(b),
          ratio: summarize(a.map((x, i) => x / b[i])),
          connectOpenMs: summarize(openMs[ports[0]]),
          grpcJsOpenMs: summarize(openMs[ports[1]]),
        });
      }
    }
  } finally {
    await Promise.all([connect.stop(), grpcJs.stop()]);
  }
  return rows;
}
