import type { Entry } from "../lab/engine/build.ts";
import { spawnChild, startServer } from "../lab/engine/child-process.ts";
import { type Summary, summarize } from "./stats.ts";

export interface StartupRow {
  /** The program, as the lab starts it (its bundle in dist/). */
  program: Entry;
  /** What "ready" means for it. */
  ready: string;
  /** Ms from spawn to ready. */
  ms: Summary;
}

interface Kind {
  program: Entry;
  args: (serverPort: number) => string[];
  ready: RegExp;
  what: string;
}

const kinds: Kind[] = [
  { program: "server", args: () => ["--port", "0", "--quiet"], ready: /^listening on /, what: "listening line" },
  {
    program: "peers/grpc-js-server",
    args: () => ["--port", "0", "--quiet"],
    ready: /^listening on /,
    what: "listening line",
  },
  {
    program: "peers/fault-peer",
    args: () => ["--port", "0", "--fault", "mute"],
    ready: /^listening on /,
    what: "listening line",
  },
  {
    program: "client",
    args: (port) => ["--port", String(port)],
    ready: /^calling /,
    what: "first request sent (calling line)",
  },
  {
    program: "peers/grpc-js-client",
    args: (port) => ["--port", String(port)],
    ready: /^calling /,
    what: "first request sent (calling line)",
  },
];

/**
 * Time from spawn to ready for every program the lab starts, `samples`
 * times each, the kinds interleaved (A B C D E A B ...) so that a busy
 * moment of the machine falls on all of them alike. Started the way the lab
 * starts them (bundles, no NODE_EXTRA_CA_CERTS), one at a time.
 */
export async function measureStartup(samples: number): Promise<StartupRow[]> {
  const { server, port } = await startServer({ entry: "server", args: ["--quiet", "--interval-ms", "60000"] });
  const times = new Map<Entry, number[]>(kinds.map((k) => [k.program, []]));
  try {
    for (let i = 0; i < samples; i++) {
      for (const kind of kinds) {
        const start = performance.now();
        const child = spawnChild({ entry: kind.program, args: kind.args(port) });
        try {
          const line = await child.waitForLine(kind.ready, 10_000);
          times.get(kind.program)?.push(line.at - start);
        } finally {
          await child.stop();
        }
      }
    }
  } finally {
    await server.stop();
  }
  return kinds.map((kind) => ({
    program: kind.program,
    ready: kind.what,
    ms: summarize(times.get(kind.program) ?? []),
  }));
}
