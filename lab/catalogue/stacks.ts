import type { Protocol } from "../../lib/client-flags.ts";
import { type BrowserKind, browserKinds } from "../../peers/browser/browsers.ts";
import { type Entry, pageBundle } from "../engine/build.ts";
import { node22Path, type Release, releaseBundle, releaseName, releases } from "./releases.ts";
import type { LabSettings } from "./settings.ts";

/**
 * The servers the lab can put behind a client. Adding one is one entry here
 * (and a program that takes the flags of lib/server-flags.ts).
 */
export interface ServerStack {
  /** Id used in flags and reports. */
  id: string;
  /** The program that runs it. */
  entry: Entry;
  /** The protocols it speaks. */
  protocols: readonly Protocol[];
  /** Serves only the cases that name it as their peer (the fault peer), not the Chat cases. Default: false. */
  peerOnly?: boolean;
  /** Flags for its runtime that make its SIGUSR2 memory line count what is still held. Default: node's --expose-gc. */
  memoryArgs?: string[];
}

/** A client stack speaking one protocol: one column per server in the report. */
export interface ClientStack {
  /** Id used in flags and reports, "stack/protocol". */
  id: string;
  /** The client stack's name as it writes it in its JSON result. */
  client: string;
  protocol: Protocol;
  entry: Entry;
  /**
   * The shortest time between two keepalive PINGs this stack keeps to,
   * whatever it is told, ms, where it has one: the watchdog of a +keepalive
   * run waits for it. Default: none.
   */
  keepaliveFloorMs?: number;
  /** A release of the stack's library other than the project's own (--versions, issue 18). Default: the project's. */
  release?: Release;
  /** A browser that runs connect-web (--browsers, issue 19). Default: none, a program of its own. */
  browser?: BrowserKind;
  /** The case flags this stack has no way to honour: a case that gives one is n/a for it, with `why`. Default: none. */
  refuses?: { flags: readonly string[]; why: string };
}

/**
 * How to start a client stack's program, beyond its entry: for a release, its
 * bundle (the first argument) on the Node it declares (lab/engine/child-process.ts `external`).
 */
export function clientProgram(stack: ClientStack): { external?: { file: string; name: string }; prefix: string[] } {
  if (stack.browser) return { prefix: ["--browser", stack.browser, "--page", pageBundle] };
  const release = stack.release;
  if (!release) return { prefix: [] };
  return {
    external: { file: release.node === "22" ? node22Path : process.execPath, name: stack.id },
    prefix: [releaseBundle(release)],
  };
}

/** The client stacks of the release matrix: every release, on every protocol it speaks, after its stack's own. */
export function releaseStacks(base: readonly ClientStack[] = clientStacks): ClientStack[] {
  return releases.flatMap((release) =>
    release.protocols.flatMap((protocol) => {
      const own = base.find((c) => c.client === release.client && c.protocol === protocol);
      return own ? [{ ...own, id: `${releaseName(release)}/${protocol}`, release }] : [];
    }),
  );
}

/**
 * How long a stack's keepalive takes to give up on a silent peer, at most: its PING interval (or
 * its own floor, when it keeps PINGs further apart than it is told) and the PING timeout.
 */
export function keepaliveBoundMs(client: Pick<ClientStack, "keepaliveFloorMs">, s: LabSettings): number {
  return Math.max(s.keepalive.intervalMs, client.keepaliveFloorMs ?? 0) + s.keepalive.timeoutMs;
}

export const serverStacks: readonly ServerStack[] = [
  { id: "connect", entry: "server", protocols: ["grpc", "connect", "grpc-web"] },
  { id: "grpc-js", entry: "peers/grpc-js-server", protocols: ["grpc"] },
  // gRPC core, through Python (issue 12): Python's own allocations traced (gRPC core's show in RSS only).
  { id: "grpcio", entry: "peers/grpcio-server", protocols: ["grpc"], memoryArgs: ["-X", "tracemalloc"] },
  { id: "fault-peer", entry: "peers/fault-peer", protocols: ["grpc", "connect", "grpc-web"], peerOnly: true },
];

/** The Chat servers: every server stack but the fault peer. */
export const chatServerStacks: readonly ServerStack[] = serverStacks.filter((server) => !server.peerOnly);

/** The servers this project writes and hardens (bad input, fuzz, drain, slow readers): not grpcio, a peer of the lab's. */
export const ourServerStacks: readonly ServerStack[] = serverStacks.filter(
  (server) => server.id === "connect" || server.id === "grpc-js",
);

export const clientStacks: readonly ClientStack[] = [
  { id: "connect/grpc", client: "connect", protocol: "grpc", entry: "client" },
  { id: "connect/connect", client: "connect", protocol: "connect", entry: "client" },
  { id: "connect/grpc-web", client: "connect", protocol: "grpc-web", entry: "client" },
  { id: "grpc-js/grpc", client: "grpc-js", protocol: "grpc", entry: "peers/grpc-js-client" },
  // gRPC core 1.51 leaves about a second between two keepalive PINGs, whatever keepalive_time_ms
  // says (measured on the wire: keepalive 100 ms, the next PING 1 s after the last answered one).
  { id: "grpcio/grpc", client: "grpcio", protocol: "grpc", entry: "peers/grpcio-client", keepaliveFloorMs: 1000 },
];

/**
 * The browser stacks (--browsers, issue 19): connect-web in headless
 * Chromium and Firefox ESR, each call in a page of its own over the
 * browser's fetch, TLS only. A page sets no keepalive, calls one origin, has
 * no retry policy or wait-for-ready and makes one call at a time.
 */
export const browserStacks: readonly ClientStack[] = browserKinds.flatMap((browser) =>
  (["connect", "grpc-web"] as const).map((protocol) => ({
    id: `${browser}/${protocol}`,
    client: browser,
    protocol,
    entry: "peers/browser-client" as const,
    browser,
    refuses: {
      flags: ["--ping-interval-ms", "--ping-timeout-ms", "--ping-idle", "--retry", "--wait-for-ready", "--channel"],
      why: "a page cannot set HTTP/2 keepalive, and has no channel, retry policy or wait-for-ready of its own",
    },
  })),
);

/**
 * Every server/client pair that can talk, in report order: for a case with a
 * peer, that peer only; otherwise the Chat servers.
 */
export function stackPairs(
  servers: readonly ServerStack[] = serverStacks,
  clients: readonly ClientStack[] = clientStacks,
  peer?: string,
): { server: ServerStack; client: ClientStack }[] {
  return servers
    .filter((server) => (peer === undefined ? !server.peerOnly : server.id === peer))
    .flatMap((server) =>
      clients.filter((client) => server.protocols.includes(client.protocol)).map((client) => ({ server, client })),
    );
}
