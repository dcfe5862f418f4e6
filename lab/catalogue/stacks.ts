import type { Protocol } from "../../lib/client-flags.ts";
import { type BrowserKind, browserKinds } from "../../peers/browser/browsers.ts";
import { pageBundle } from "../engine/build.ts";
import type { PeerBuild } from "../engine/peer-builds.ts";
import { node, type Program } from "../engine/programs.ts";
import { node22Path, type Release, releaseBundle, releaseName, releases } from "./releases.ts";
import type { LabSettings } from "./settings.ts";

/** A flag a stack has no way to honour, and why: a case that gives it is n/a for the stack, with the reason. */
export interface Refusal {
  flags: readonly string[];
  why: string;
}

/**
 * The servers the lab can put behind a client. Adding one is one entry here
 * (and a program that takes the flags of lib/server-flags.ts, in its folder
 * under peers/).
 */
export interface ServerStack {
  /** Id used in flags and reports. */
  id: string;
  /** The program that runs it, and what builds it. */
  program: Program;
  /** The protocols it speaks. */
  protocols: readonly Protocol[];
  /** The library and what it is, in a few words, for reports ("grpc-go's server"). */
  label: string;
  /** Serves only the cases that name it as their peer (the fault peer), not the Chat cases. Default: false. */
  peerOnly?: boolean;
  /**
   * Flags for its runtime that make its SIGUSR2 memory line count what is still held (the server's
   * view reads it twice a run). Default: none.
   */
  memoryArgs?: string[];
  /**
   * The shortest time between two server keepalive PINGs the library keeps
   * to, whatever it is told, ms (grpc-go: 1 s): the server's view waits for
   * it. Default: none.
   */
  keepaliveFloorMs?: number;
  /**
   * How long its process takes to listen on an idle machine, ms, where that is far from instant
   * (a JVM: about 0.8 s): a client calling again after a restart waits for it. Default: none.
   */
  startMs?: number;
  /** How long a start may take before the run is given up as broken, ms. Default: 10 s plus 10x startMs. */
  startTimeoutMs?: number;
  /** Server flags it has no way to honour (a write-stall timeout, a max connection age). Default: none. */
  refuses?: readonly Refusal[];
  /** Why its TLS keeps its secrets from the tap, where it does (--tls cells are then n/a). Default: it logs them. */
  noTlsKeyLog?: string;
}

/** A client stack speaking one protocol: one column per server in the report. */
export interface ClientStack {
  /** Id used in flags and reports, "stack/protocol". */
  id: string;
  /** The client stack's name as it writes it in its JSON result. */
  client: string;
  protocol: Protocol;
  /** The program that runs it, and what builds it. */
  program: Program;
  /** It takes part in channel scenarios only, and why (a user's client that calls until stopped). Default: every case. */
  channelOnly?: string;
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
  /** The case flags this stack has no way to honour: a case that gives one is n/a for it, with why. Default: none. */
  refuses?: readonly Refusal[];
  /** Why its TLS keeps its secrets from the tap, where it does (--tls cells are then n/a). Default: it logs them. */
  noTlsKeyLog?: string;
}

/**
 * How to start a client stack's program, beyond its program: for a release,
 * its bundle (the first argument) on the Node it declares, or its own program
 * (lab/engine/child-process.ts `external`).
 */
export function clientProgram(stack: ClientStack): {
  program: Program;
  external?: { file: string; name: string };
  prefix: string[];
} {
  if (stack.browser) return { program: stack.program, prefix: ["--browser", stack.browser, "--page", pageBundle] };
  const release = stack.release;
  if (!release) return { program: stack.program, prefix: [] };
  if (release.program) return { program: release.program, prefix: [] };
  return {
    program: stack.program,
    external: { file: release.node === "22" ? node22Path : process.execPath, name: stack.id },
    prefix: [releaseBundle(release)],
  };
}

/** The client stacks of the release matrix: every release, on every protocol it speaks, after its stack's own. */
export function releaseStacks(base: readonly ClientStack[] = clientStacks): ClientStack[] {
  return releases.flatMap((release) =>
    release.protocols.flatMap((protocol) => {
      const own = base.find((c) => c.client === release.client && c.protocol === protocol);
      return own ? [{ ...own, id: `${releaseName(release)}/${protocol}`, release, ...release.differs }] : [];
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

// Each Go module replaces connectlab.dev/golab with peers/golab: a change there rebuilds it.
const goBuild = (dir: string): PeerBuild => ({ toolchain: "go", dir, shared: ["peers/golab"] });
const tonicBuild: PeerBuild = { toolchain: "cargo", dir: "peers/tonic" };
const javaBuild: PeerBuild = { toolchain: "maven", dir: "peers/grpc-java" };
const grpcioBuild: PeerBuild = { toolchain: "python", dir: "peers/grpcio" };

/**
 * The tap reads inside TLS with the secrets each peer logs (issue 19); these two cannot log
 * theirs, so a --tls run could prove no fault inside their connections: their cells are n/a.
 */
const jsseKeys =
  "grpc-java's TLS here is the JDK's (JSSE, grpc-netty without netty-tcnative), which logs no session secrets: the tap cannot read inside its connections, so no fault there could be proven";
const grpcioKeys =
  "PyPI's grpcio carries BoringSSL inside it, and gRPC core logs TLS secrets only through its C++ TlsCredentials API (set_tls_session_key_log_file_path), which Python does not expose: the tap cannot read inside its connections (Debian's grpcio 1.51.1 uses the system's OpenSSL, whose keys the lab's preloaded key log reads)";

/** A library with no write-stall timeout of its own: flow control is the library's. */
const noWriteStall = (library: string): Refusal => ({
  flags: ["--write-stall-timeout-ms"],
  why: `${library} keeps flow control to itself: a handler cannot tell a reply stuck behind a shut window, so there is no write-stall timeout to set (only max connection age with a grace bounds such a stream)`,
});

/**
 * A Node server's for its memory line: gc() for a full collection first. Its marking on one thread:
 * the same heap after it (7.0 MiB in both ways, a connect-node server after 6 calls), and a fifth
 * less CPU per reading on 2 cores (13 against 16.5 ms; issue 29).
 */
const nodeMemoryArgs = ["--expose-gc", "--single-threaded-gc"];

export const serverStacks: readonly ServerStack[] = [
  {
    id: "connect",
    program: node("server"),
    protocols: ["grpc", "connect", "grpc-web"],
    label: "the Connect server (connect-node)",
    memoryArgs: nodeMemoryArgs,
  },
  {
    id: "grpc-js",
    program: node("peers/grpc-js-server"),
    protocols: ["grpc"],
    label: "the grpc-js server",
    memoryArgs: nodeMemoryArgs,
  },
  // gRPC core, through Python (issue 12), from PyPI (issue 27): Python's own allocations traced (gRPC core's show in RSS only).
  {
    id: "grpcio",
    program: { kind: "python", script: "peers/grpcio/server.py", python: "venv", build: grpcioBuild },
    protocols: ["grpc"],
    label: "the grpcio server (gRPC core)",
    memoryArgs: ["-X", "tracemalloc"],
    refuses: [noWriteStall("gRPC core")],
    noTlsKeyLog: grpcioKeys,
  },
  {
    id: "connect-go",
    program: { kind: "native", file: "peers/connect-go/bin/connect-go-server", build: goBuild("peers/connect-go") },
    protocols: ["grpc", "connect", "grpc-web"],
    label: "the connect-go server (net/http)",
    refuses: [
      noWriteStall("net/http"),
      {
        flags: ["--max-connection-age-ms", "--max-connection-age-grace-ms"],
        why: "net/http has no max connection age: nothing sends GOAWAY at an age (connect-go adds none)",
      },
    ],
  },
  {
    id: "grpc-go",
    program: { kind: "native", file: "peers/grpc-go/bin/grpc-go-server", build: goBuild("peers/grpc-go") },
    protocols: ["grpc"],
    label: "the grpc-go server",
    // keepalive.ServerParameters.Time under 1 s is raised to 1 s (grpc-go server.go KeepaliveParams).
    keepaliveFloorMs: 1000,
    refuses: [noWriteStall("grpc-go")],
  },
  {
    id: "grpc-java",
    program: { kind: "java", mainClass: "lab.grpcjava.ChatServer", build: javaBuild },
    protocols: ["grpc"],
    label: "the grpc-java server (Netty)",
    // Measured: 0.7-0.8 s from the JVM's start to its listening line, with the class-data archive.
    startMs: 800,
    // NettyServerBuilder.keepAliveTime raises anything under 10 s to 10 s, as the client's
    // (KeepAliveManager.clampKeepAliveTimeInNanos; measured: no server PING in 2 s at 250 ms).
    keepaliveFloorMs: 10_000,
    refuses: [noWriteStall("grpc-java")],
    noTlsKeyLog: jsseKeys,
  },
  {
    id: "tonic",
    program: { kind: "native", file: "peers/tonic/target/release/tonic-server", build: tonicBuild },
    protocols: ["grpc"],
    label: "the tonic server",
    refuses: [
      noWriteStall("tonic (hyper)"),
      {
        // What the connection-age case checks (A9's GOAWAY at the age) does not happen: measured,
        // and reproduced with tonic alone (docs/repro/rust tonic-connection-age).
        flags: ["--max-connection-age-grace-ms"],
        why: "tonic 0.14.9 with max_connection_age_grace set sends no GOAWAY at the age: it closes the connection, its streams with it, at age and grace (the grace came with grpc/grpc-rust #2449); without a grace it sends GOAWAY at the age and lets streams run",
      },
    ],
  },
  {
    id: "fault-peer",
    program: node("peers/fault-peer"),
    protocols: ["grpc", "connect", "grpc-web"],
    label: "the fault peer",
    peerOnly: true,
  },
];

/**
 * The core stacks: the matrix before issue 27 (connect-node, grpc-js and gRPC core, as server and
 * client), which the default run takes through every case; the others answer the first question
 * there (cases.ts firstQuestion), and every case under --full.
 */
export const coreStacks = {
  servers: ["connect", "grpc-js", "grpcio"],
  clients: ["connect", "grpc-js", "grpcio"],
} as const;

/** The Chat servers: every server stack but the fault peer. */
export const chatServerStacks: readonly ServerStack[] = serverStacks.filter((server) => !server.peerOnly);

/** The servers this project writes and hardens (bad input, fuzz, drain, slow readers): the Node ones. */
export const ourServerStacks: readonly ServerStack[] = serverStacks.filter(
  (server) => server.id === "connect" || server.id === "grpc-js",
);

/** A client that calls one address per transport, with no wait-for-ready and no client-side health checking. */
const oneAddress = (library: string, how: string): Refusal[] => [
  {
    flags: ["--target", "--lb-policy"],
    why: `${library} calls one address per ${how}: it has no list of backends and no load balancing`,
  },
  {
    flags: ["--wait-for-ready"],
    why: `${library} has no wait-for-ready: a call fails at once when no connection can be made`,
  },
  { flags: ["--health-check"], why: `${library} has no client-side health checking` },
];

export const clientStacks: readonly ClientStack[] = [
  ...(["grpc", "connect", "grpc-web"] as const).map(
    (protocol): ClientStack => ({
      id: `connect/${protocol}`,
      client: "connect",
      protocol,
      program: node("client"),
      refuses: oneAddress("connect-node", "transport (createGrpcTransport's baseUrl)"),
    }),
  ),
  { id: "grpc-js/grpc", client: "grpc-js", protocol: "grpc", program: node("peers/grpc-js-client") },
  // gRPC core leaves about a second between two keepalive PINGs, whatever keepalive_time_ms says
  // (measured on the wire with 1.51: keepalive 100 ms, the next PING 1 s after the last answered one).
  {
    id: "grpcio/grpc",
    client: "grpcio",
    protocol: "grpc",
    program: { kind: "python", script: "peers/grpcio/client.py", python: "venv", build: grpcioBuild },
    keepaliveFloorMs: 1000,
    noTlsKeyLog: grpcioKeys,
  },
  ...(["grpc", "connect", "grpc-web"] as const).map(
    (protocol): ClientStack => ({
      id: `connect-go/${protocol}`,
      client: "connect-go",
      protocol,
      program: { kind: "native", file: "peers/connect-go/bin/connect-go-client", build: goBuild("peers/connect-go") },
      refuses: oneAddress("connect-go", "client (its base URL)"),
    }),
  ),
  {
    id: "grpc-go/grpc",
    client: "grpc-go",
    protocol: "grpc",
    program: { kind: "native", file: "peers/grpc-go/bin/grpc-go-client", build: goBuild("peers/grpc-go") },
    // keepalive.ClientParameters.Time under 10 s is raised to 10 s (internal.KeepaliveMinPingTime).
    keepaliveFloorMs: 10_000,
  },
  {
    id: "grpc-java/grpc",
    client: "grpc-java",
    protocol: "grpc",
    program: { kind: "java", mainClass: "lab.grpcjava.ChatClient", build: javaBuild },
    // keepAliveTime under 10 s is raised to 10 s (KeepAliveManager.clampKeepAliveTimeInNanos).
    keepaliveFloorMs: 10_000,
    noTlsKeyLog: jsseKeys,
  },
  {
    id: "tonic/grpc",
    client: "tonic",
    protocol: "grpc",
    program: { kind: "native", file: "peers/tonic/target/release/tonic-client", build: tonicBuild },
    refuses: [
      {
        flags: ["--lb-policy"],
        why: "tonic balances a list of addresses one way (Channel::balance_list: tower's power of two choices), with no policy to choose",
      },
      {
        flags: ["--wait-for-ready"],
        why: "tonic has no wait-for-ready: a call fails at once when no connection can be made",
      },
      { flags: ["--health-check"], why: "tonic has no client-side health checking" },
    ],
  },
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
    program: node("peers/browser-client"),
    browser,
    refuses: [
      {
        flags: ["--ping-interval-ms", "--ping-timeout-ms", "--ping-idle", "--retry", "--wait-for-ready", "--channel"],
        why: "a page cannot set HTTP/2 keepalive, and has no channel, retry policy or wait-for-ready of its own",
      },
    ],
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
