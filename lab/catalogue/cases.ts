/**
 * The case catalogue: what the lab does to a Chat stream, the evidence that
 * fault must leave, and what the gRPC rules and each stack say should come
 * of it. A new case is one entry in `labCases`; the engine, the check and
 * the reports take it from here.
 */
import {
  blackholed,
  bothLegsReset,
  clientCancelled,
  clientKilled,
  clientLeft,
  clientStopped,
  deadlineSent,
  drainedAfterGoaway,
  type Evidence,
  endedWithoutStatus,
  goawayAfterFault,
  goawayThenClose,
  mutePeer as mutePeerEvidence,
  nothingListens,
  pingsUnanswered,
  processKilled,
  processStopped,
  reconnected,
  resetAfterMessage,
  serverLetGo,
  stalledButAlive,
  statusOnWire,
  windowShut,
} from "../faults/evidence.ts";
import {
  blackhole,
  connectDroppedConnection,
  connectionFailure,
  connectNoEnd,
  connectReset,
  connectRst,
  deadlineArgs,
  deadlineRule,
  healthWatchRule,
  idleTimeoutArgs,
  idleTimeoutRule,
  keepaliveArgs,
  keepaliveRule,
  rstRule,
  silentPeer,
  stall,
  stallArgs,
  suspend,
  watchHealthArgs,
} from "./case-parts.ts";
import type { ProxyVariant } from "./proxies.ts";
import { proxyCases } from "./proxy-cases.ts";
import type { LabSettings } from "./settings.ts";

export { defaultSettings, type LabSettings, quickSettings } from "./settings.ts";

/**
 * One step of a fault, done in order once the client has message 1:
 * - signal: a signal to the server or the client, afterMs after the previous step;
 * - network: the relay between them turns to blackhole or reset (behind a proxy: the relay of one
 *   hop, client-proxy or proxy-server);
 * - restart: SIGKILL to the server, and a new one on the same port;
 * - stall: nothing to do, the server's handler goes silent after message 1 by itself (--stall-after 1);
 * - peer: nothing to do, the fault peer commits its own fault; its `fault: ... at` line times it.
 * Steps on the server process (a server signal, restart) are done once per server and watched by
 * every client on it; the others are done per run.
 */
export type FaultStep =
  | { kind: "signal"; target: "server" | "client"; signal: NodeJS.Signals; afterMs?: (settings: LabSettings) => number }
  | { kind: "network"; mode: "blackhole" | "reset"; hop?: Hop }
  | { kind: "reader"; action: "reset" | "drop" }
  | { kind: "restart" }
  | { kind: "stall" }
  | { kind: "peer" };

/** Behind a proxy, the two TCP hops of a call, each with a relay of its own. */
export type Hop = "client-proxy" | "proxy-server";

/** Which cells a known behaviour applies to; an absent field matches all. */
export interface CellMatch {
  server?: string;
  client?: string;
  protocol?: string;
}

/** What a stack is known to do where it departs from the rule, and why. */
export interface KnownDeparture extends CellMatch {
  codes: string[];
  why: string;
}

export interface Expectation {
  /** The outcomes the gRPC rules call for: code names, or "hang". */
  rule: string[];
  /** The rule, cited. */
  cite: string;
  /** Cells known to depart from the rule. */
  departures?: KnownDeparture[];
}

/**
 * Families of cases, for --cases and for the report's tables: signals to the
 * server process, network faults (the relay), a stalled handler, and
 * HTTP/2-level faults (fault peer), what a health Watch stream reports, the
 * server's view, and the faults behind a proxy.
 */
export const caseGroups = ["process", "network", "handler", "http2", "health", "server", "proxy"] as const;
export type CaseGroup = (typeof caseGroups)[number];

export interface LabCase {
  id: string;
  group: CaseGroup;
  /**
   * Whose view the case takes: the client's (default: what the client ends
   * with), or the server's (group "server": what the server's handler ends
   * with, watched in its log, when its client dies, hangs or stops reading).
   */
  view?: "client" | "server";
  /**
   * The server's view: who calls. A client process of its own (default; the
   * faults that act on the client process need one), a call in the connect
   * agent, or the lab's slow reader (a raw HTTP/2 client whose window stays 0,
   * lab/faults/slow-reader.ts).
   */
  driver?: "process" | "agent" | "slow-reader";
  /** Run against these server stacks only. Default: every Chat server (or the case's peer). */
  servers?: string[];
  /**
   * The client processes of this case (Ctrl-C needs them) may watch one
   * server together: its pause between messages is long enough for all to
   * have message 1 before any has message 2. Default: false, one server each.
   */
  sharedByProcesses?: boolean;
  /**
   * Client stacks that call in a process of their own here, not in their
   * agent: the case crashes them, and a crash must take only its own run
   * (and is then what the cell shows: `crashed`).
   */
  ownProcess?: string[];
  /** One line: what is done. */
  summary: string;
  /** Start no server at all (the client calls a port nobody listens on). Default: false. */
  noServer?: boolean;
  /**
   * The call goes through this proxy (issue 14), set up as `variant` says:
   * client -> relay -> proxy -> relay -> server, a tap on each hop.
   */
  proxy?: { id: string; variant: ProxyVariant };
  /** Run against this server stack only (the fault peer) instead of the Chat servers. */
  peer?: string;
  /** When the fault happens: once message 1 arrived (default), or from the client's start (a peer that never answers). */
  faultAt?: "message-1" | "start";
  /** Extra server flags. */
  serverArgs?: (settings: LabSettings) => string[];
  /** Extra client flags. */
  clientArgs?: (settings: LabSettings) => string[];
  /** What is done; none for a plain run. */
  fault?: FaultStep[];
  /** The report lists what the client received in each cell (the health statuses). Default: false. */
  showMessages?: boolean;
  /** What the time in a cell measures, where it is not "from the fault to the client's result". */
  timing?: string;
  /** What the fault must leave on the wire or in the process; a run without it is a lab error. */
  evidence: Evidence[];
  expect: Expectation;
}

/** A case where the fault peer sends message 1 and then commits `fault` (a --fault value) by itself. */
function peerFault(
  fault: string,
  what: string,
  evidence: Evidence[],
  expect: Expectation,
  more: Partial<LabCase> = {},
): LabCase {
  return {
    ...more,
    id: fault,
    group: "http2",
    summary: `the fault peer sends message 1, then ${what}`,
    peer: "fault-peer",
    serverArgs: (s) => ["--fault", fault, "--delay-ms", String(s.intervalMs)],
    fault: [{ kind: "peer" }],
    timing: "from the peer's fault to the client's result",
    evidence,
    expect,
  };
}

/** A case against a peer that accepts TCP and never speaks HTTP/2, with an optional remedy. */
function mutePeer(remedy: string, clientArgs: LabCase["clientArgs"], expect: Expectation): LabCase {
  return {
    id: `mute-peer${remedy}`,
    group: "http2",
    summary: `a peer accepts TCP and never speaks HTTP/2${remedy ? `, client ${remedy.slice(1)} set` : ", no remedy"}`,
    peer: "fault-peer",
    serverArgs: () => ["--fault", "mute"],
    clientArgs,
    faultAt: "start",
    timing: "from the start of the call to the client's result",
    evidence: [mutePeerEvidence()],
    expect,
  };
}

/** What the client sees: every group but the server's view. */
const clientViewCases: LabCase[] = [
  {
    id: "normal",
    group: "process",
    summary: "no fault: the stream runs to its end",
    timing: "from the start of the call to the client's result",
    evidence: [statusOnWire("ok")],
    expect: { rule: ["ok"], cite: "statuscodes.md: OK" },
  },
  {
    id: "no-server",
    group: "process",
    summary: "nothing listens on the port",
    noServer: true,
    timing: "from the start of the call to the client's result",
    evidence: [nothingListens()],
    expect: { rule: ["unavailable"], cite: "statuscodes.md: UNAVAILABLE when no connection could be established" },
  },
  {
    id: "shutdown-graceful",
    group: "process",
    summary: "SIGTERM to the server, grace longer than the rest of the stream",
    serverArgs: (s) => ["--grace-ms", String(s.intervalMs * (s.count + 1))],
    fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
    evidence: [drainedAfterGoaway()],
    expect: {
      rule: ["ok"],
      cite: "PROTOCOL-HTTP2.md, GOAWAY: clients may keep working with the streams already accepted until they complete",
    },
  },
  {
    id: "shutdown-abrupt",
    group: "process",
    summary: "SIGTERM to the server, zero grace",
    serverArgs: () => ["--grace-ms", "0"],
    fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
    evidence: [goawayAfterFault(), statusOnWire("unavailable")],
    expect: { rule: ["unavailable"], cite: "statuscodes.md: UNAVAILABLE for a server shutting down" },
  },
  {
    id: "library-stop-graceful",
    group: "process",
    summary:
      "SIGTERM to a server that stops the library's own graceful way: grpc-js tryShutdown(), grpcio stop(grace), connect-node http2Server.close() with each session closed",
    serverArgs: (s) => ["--stop-mode", "library-graceful", "--grace-ms", String(s.intervalMs * (s.count + 1))],
    fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
    evidence: [drainedAfterGoaway()],
    expect: {
      rule: ["ok"],
      cite: "PROTOCOL-HTTP2.md, GOAWAY: clients may keep working with the streams already accepted until they complete",
    },
  },
  {
    id: "library-stop-immediate",
    group: "process",
    summary:
      "SIGTERM to a server that stops the library's own immediate way: grpc-js forceShutdown(), grpcio stop(0), connect-node with no handler (Node's default: the signal ends the process)",
    serverArgs: () => ["--stop-mode", "library-immediate"],
    fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
    evidence: [serverLetGo()],
    expect: {
      rule: ["unavailable"],
      cite: "statuscodes.md: UNAVAILABLE for a server shutting down; PROTOCOL-HTTP2.md: a connection failure closes all calls with UNAVAILABLE",
      departures: [
        {
          server: "connect",
          client: "connect",
          codes: ["canceled", "aborted"],
          why: "with no handler the process just ends: its connections drop as in a crash, and connect-node reads the dropped connection as canceled (aborted when its kernel closes with RST)",
        },
        {
          server: "grpc-js",
          client: "connect",
          codes: ["internal"],
          why: 'grpc-js forceShutdown() sends GOAWAY(CANCEL) and destroys the session (the tap shows it); connect-node reads the session error "Session closed with error code 8" as internal',
        },
        {
          server: "grpc-js",
          client: "grpc-js",
          codes: ["canceled"],
          why: "grpc-js's client reads its server's GOAWAY(CANCEL) as CANCELLED \"Call cancelled\"",
        },
        ...(["connect", "grpc-js"] as const).map(
          (client): KnownDeparture => ({
            server: "grpcio",
            client,
            codes: ["unavailable", "internal"],
            why: 'gRPC core\'s stop(0) sends GOAWAY(INTERNAL_ERROR, "Cancelling all calls") and, in the same write, each call\'s trailers UNAVAILABLE "Cancelling all calls" (the tap shows both): a client that acts on the GOAWAY first reads internal, its code (grpc-js says "Received RST_STREAM with code 2", the original experiment\'s words)',
          }),
        ),
      ],
    },
  },
  {
    id: "crash",
    group: "process",
    summary: "SIGKILL to the server",
    fault: [{ kind: "signal", target: "server", signal: "SIGKILL" }],
    evidence: [processKilled()],
    expect: {
      rule: ["unavailable"],
      cite: connectionFailure,
      departures: [
        {
          ...connectDroppedConnection,
          codes: ["canceled", "aborted"],
          why: `${connectDroppedConnection.why}; when the killed server had not read all the client sent (a busy server: seen with several connections on it), its kernel closes with RST instead of FIN (the tap shows which), and connect-node reads ECONNRESET as aborted`,
        },
      ],
    },
  },
  {
    id: "restart",
    group: "process",
    summary: "SIGKILL to the server, a new one on the same port, then a second call on the same transport or channel",
    clientArgs: (s) => ["--calls", "2", "--call-gap-ms", String(s.restartGapMs)],
    fault: [{ kind: "restart" }],
    timing: "recovery: from the second call's start to its first message; the code is the second call's",
    evidence: [reconnected()],
    expect: {
      rule: ["ok"],
      cite: "connectivity-semantics-and-api.md: a channel in TRANSIENT_FAILURE reconnects, and later calls use the new connection",
    },
  },
  {
    id: "suspend",
    group: "process",
    summary: "SIGSTOP to the server, no remedy",
    fault: suspend,
    evidence: [processStopped()],
    expect: { rule: ["hang"], cite: silentPeer },
  },
  {
    id: "suspend+keepalive",
    group: "process",
    summary: "SIGSTOP to the server, client HTTP/2 keepalive on",
    clientArgs: keepaliveArgs,
    fault: suspend,
    evidence: [processStopped(), pingsUnanswered()],
    expect: { rule: ["unavailable"], cite: keepaliveRule },
  },
  {
    id: "suspend+deadline",
    group: "process",
    summary: "SIGSTOP to the server, client deadline set",
    clientArgs: deadlineArgs,
    fault: suspend,
    evidence: [processStopped()],
    expect: { rule: ["deadline_exceeded"], cite: deadlineRule },
  },
  {
    id: "suspend+idle-timeout",
    group: "process",
    summary: "SIGSTOP to the server, client idle timeout set",
    clientArgs: idleTimeoutArgs,
    fault: suspend,
    evidence: [processStopped()],
    expect: { rule: ["deadline_exceeded"], cite: idleTimeoutRule },
  },
  {
    id: "suspend+ctrl-c",
    group: "process",
    summary: "SIGSTOP to the server, then SIGINT (Ctrl-C) to the client",
    // Client processes reach message 1 only once they have loaded, some 0.2-0.5 s apart on a busy
    // machine: a long pause before message 2 lets them all watch one server.
    sharedByProcesses: true,
    serverArgs: (s) => ["--interval-ms", String(Math.max(3000, 6 * s.intervalMs))],
    fault: [...suspend, { kind: "signal", target: "client", signal: "SIGINT", afterMs: (s) => s.ctrlCDelayMs }],
    timing: "from the SIGINT to the client's result",
    evidence: [processStopped()],
    expect: { rule: ["canceled"], cite: "statuscodes.md: CANCELLED when the caller cancels" },
  },
  {
    id: "blackhole",
    group: "network",
    summary: "the network between client and server goes silent both ways (fault proxy), no remedy",
    fault: blackhole,
    evidence: [blackholed()],
    expect: { rule: ["hang"], cite: silentPeer },
  },
  {
    id: "blackhole+keepalive",
    group: "network",
    summary: "the network goes silent, client HTTP/2 keepalive on",
    clientArgs: keepaliveArgs,
    fault: blackhole,
    evidence: [blackholed()],
    expect: { rule: ["unavailable"], cite: keepaliveRule },
  },
  {
    id: "blackhole+deadline",
    group: "network",
    summary: "the network goes silent, client deadline set",
    clientArgs: deadlineArgs,
    fault: blackhole,
    evidence: [blackholed()],
    expect: { rule: ["deadline_exceeded"], cite: deadlineRule },
  },
  {
    id: "blackhole+idle-timeout",
    group: "network",
    summary: "the network goes silent, client idle timeout set",
    clientArgs: idleTimeoutArgs,
    fault: blackhole,
    evidence: [blackholed()],
    expect: { rule: ["deadline_exceeded"], cite: idleTimeoutRule },
  },
  {
    id: "reset",
    group: "network",
    summary: "the network resets both TCP connections (fault proxy), like a load balancer dropping them",
    fault: [{ kind: "network", mode: "reset" }],
    evidence: [bothLegsReset()],
    expect: {
      rule: ["unavailable"],
      cite: connectionFailure,
      departures: [connectReset],
    },
  },
  {
    id: "stall",
    group: "handler",
    summary: "the handler stops sending after message 1; the process and its HTTP/2 stack stay alive",
    serverArgs: stallArgs,
    fault: stall,
    timing: "from message 1 (when the handler went silent) to the client's result",
    evidence: [stalledButAlive({ pings: "if-any" })],
    expect: { rule: ["hang"], cite: silentPeer },
  },
  {
    id: "stall+keepalive",
    group: "handler",
    summary: "stalled handler, client HTTP/2 keepalive on: PINGs are answered, so keepalive cannot see it",
    serverArgs: stallArgs,
    clientArgs: keepaliveArgs,
    fault: stall,
    evidence: [stalledButAlive({ pings: "answered" })],
    expect: {
      rule: ["hang"],
      cite: "keepalive.md: keepalive checks the connection, not the handler; a live process answers PINGs",
      departures: [
        {
          server: "grpcio",
          client: "connect",
          codes: ["internal"],
          why: 'gRPC core\'s server enforces its ping policy (keepalive.md: more than one PING per 5 minutes while it sends no data is a strike, 2 strikes allowed): the client\'s fourth PING drew GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and the stream\'s reset (the tap shows both); connect-node reads the session error "Session closed with error code 11" as internal',
        },
        {
          server: "grpcio",
          client: "grpc-js",
          codes: ["resource_exhausted"],
          why: "gRPC core's server enforces its ping policy: GOAWAY(ENHANCE_YOUR_CALM, \"too_many_pings\") after the client's fourth PING (the tap shows it); grpc-js maps ENHANCE_YOUR_CALM to RESOURCE_EXHAUSTED",
        },
      ],
    },
  },
  {
    id: "stall+deadline",
    group: "handler",
    summary: "stalled handler, client deadline set",
    serverArgs: stallArgs,
    clientArgs: deadlineArgs,
    fault: stall,
    timing: "from message 1 to the client's result",
    evidence: [stalledButAlive({ pings: "if-any" })],
    expect: { rule: ["deadline_exceeded"], cite: deadlineRule },
  },
  {
    id: "stall+idle-timeout",
    group: "handler",
    summary: "stalled handler, client idle timeout set",
    serverArgs: stallArgs,
    clientArgs: idleTimeoutArgs,
    fault: stall,
    timing: "from message 1 to the client's result",
    evidence: [stalledButAlive({ pings: "if-any" })],
    expect: { rule: ["deadline_exceeded"], cite: idleTimeoutRule },
  },
  {
    id: "health-watch+shutdown-graceful",
    group: "health",
    summary:
      "a grpc.health.v1 Watch stream instead of Chat; SIGTERM to the server once it reported SERVING, grace as in shutdown-graceful",
    serverArgs: (s) => ["--grace-ms", String(s.intervalMs * (s.count + 1))],
    clientArgs: watchHealthArgs,
    fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
    showMessages: true,
    evidence: [goawayAfterFault(), statusOnWire("unavailable")],
    expect: {
      rule: ["unavailable"],
      cite: `${healthWatchRule}; our servers send NOT_SERVING when the drain starts, then end the Watch UNAVAILABLE so it does not hold the drain up`,
    },
  },
  {
    id: "health-watch+suspend",
    group: "health",
    summary: "a health Watch stream; SIGSTOP to the server once it reported SERVING, no remedy",
    clientArgs: watchHealthArgs,
    fault: suspend,
    showMessages: true,
    evidence: [processStopped()],
    expect: {
      rule: ["hang"],
      cite: `${healthWatchRule}; a suspended server sends no change, so the watcher keeps believing SERVING (${silentPeer})`,
    },
  },
  {
    id: "health-watch+suspend+keepalive",
    group: "health",
    summary: "a health Watch stream; SIGSTOP to the server, client HTTP/2 keepalive on",
    clientArgs: (s) => [...watchHealthArgs(), ...keepaliveArgs(s)],
    fault: suspend,
    showMessages: true,
    evidence: [processStopped(), pingsUnanswered()],
    expect: { rule: ["unavailable"], cite: keepaliveRule },
  },
  peerFault("rst-stream:0", "RST_STREAM(NO_ERROR), no trailers", [resetAfterMessage(0, "NO_ERROR")], {
    rule: ["internal"],
    cite: rstRule,
    departures: [connectNoEnd],
  }),
  peerFault("rst-stream:2", "RST_STREAM(INTERNAL_ERROR)", [resetAfterMessage(2, "INTERNAL_ERROR")], {
    rule: ["internal"],
    cite: rstRule,
  }),
  peerFault("rst-stream:7", "RST_STREAM(REFUSED_STREAM)", [resetAfterMessage(7, "REFUSED_STREAM")], {
    rule: ["unavailable"],
    cite: rstRule,
    departures: [connectRst],
  }),
  peerFault("rst-stream:8", "RST_STREAM(CANCEL)", [resetAfterMessage(8, "CANCEL")], {
    rule: ["canceled"],
    cite: rstRule,
  }),
  peerFault("rst-stream:11", "RST_STREAM(ENHANCE_YOUR_CALM)", [resetAfterMessage(11, "ENHANCE_YOUR_CALM")], {
    rule: ["resource_exhausted"],
    cite: rstRule,
    departures: [connectRst],
  }),
  peerFault(
    "goaway:0",
    "GOAWAY(NO_ERROR) covering the stream, and closes the connection 50 ms later",
    [goawayThenClose(0, "NO_ERROR")],
    {
      rule: ["unavailable"],
      cite: connectionFailure,
      departures: [
        {
          ...connectDroppedConnection,
          why: "the connection closes after GOAWAY; Node ends its streams as RST_STREAM(CANCEL), which connect-node maps to canceled",
        },
      ],
    },
  ),
  peerFault(
    "goaway:2",
    "GOAWAY(INTERNAL_ERROR) covering the stream, and closes the connection 50 ms later",
    [goawayThenClose(2, "INTERNAL_ERROR")],
    {
      rule: ["unavailable"],
      cite: connectionFailure,
      departures: [
        {
          client: "connect",
          codes: ["internal"],
          why: 'connect-node reports the session error "Session closed with error code 2" as internal, as if the GOAWAY code were the stream\'s RST code',
        },
        {
          client: "grpc-js",
          codes: ["internal"],
          why: "grpc-js resets the stream with the GOAWAY's code (INTERNAL_ERROR) and maps that RST code to internal",
        },
      ],
    },
  ),
  peerFault(
    "missing-status",
    "ends the stream without a status (gRPC trailers without grpc-status)",
    [endedWithoutStatus()],
    {
      rule: ["unknown"],
      cite: "http-grpc-status-mapping.md: HTTP 200 without grpc-status is UNKNOWN",
      departures: [
        ...(["grpc", "grpc-web"] as const).map(
          (protocol): KnownDeparture => ({
            client: "connect",
            protocol,
            codes: ["internal"],
            why: 'connect-node calls a missing grpc-status a protocol error: internal "protocol error: missing status"',
          }),
        ),
        {
          ...connectNoEnd,
          why: 'connect-node\'s Connect protocol reads a stream without its end-stream message as invalid_argument "protocol error: missing EndStreamResponse"',
        },
        {
          client: "grpcio",
          codes: ["crashed"],
          why: "grpcio 1.51.1 (Debian bookworm's python3-grpcio): the client process dies of SIGILL when a stream ends with trailers that carry no grpc-status; its synchronous API too (docs/repro/grpcio-missing-status.py)",
        },
      ],
    },
    { ownProcess: ["grpcio"] },
  ),
  mutePeer("", undefined, { rule: ["hang"], cite: silentPeer }),
  mutePeer("+keepalive", keepaliveArgs, {
    rule: ["unavailable"],
    cite: keepaliveRule,
    departures: [
      {
        client: "grpc-js",
        codes: ["hang"],
        why: "grpc-js starts keepalive only once the HTTP/2 session is up: a peer that accepts TCP and never sends SETTINGS is never pinged, and the call waits with no end (seen past 40 s)",
      },
      {
        client: "grpcio",
        codes: ["hang"],
        why: "gRPC core sends its preface, SETTINGS and WINDOW_UPDATE and then no PING to a peer that never answers its SETTINGS (the tap shows it): the call waits with no end",
      },
    ],
  }),
  mutePeer("+deadline", deadlineArgs, { rule: ["deadline_exceeded"], cite: deadlineRule }),
];

/**
 * The server's view (issue 13): the client is the one that dies, hangs or
 * stops reading, and the outcome is how the server's handler ended, read off
 * the server's log: the code of its `client gone` or `ended` line,
 * `write-stalled` (reset by the write-stall timeout), `undelivered` (it ended
 * but its status never left), or `hang` (still running at the watchdog).
 * Server-side remedies are off unless a case turns one on, so that each is
 * measured alone.
 */
const serverRemediesOff = () => ["--ping-interval-ms", "0", "--write-stall-timeout-ms", "0"];
const serverKeepaliveArgs = (s: LabSettings) => [
  "--ping-interval-ms",
  String(s.keepalive.intervalMs),
  "--ping-timeout-ms",
  String(s.keepalive.timeoutMs),
  "--write-stall-timeout-ms",
  "0",
  // A stream long enough to outlast twice the keepalive's bound: its end must not come first.
  "--count",
  String(Math.max(s.count, Math.ceil((2 * (s.keepalive.intervalMs + s.keepalive.timeoutMs)) / s.intervalMs) + 1)),
];
const writeStallArgs = (s: LabSettings) => [
  "--ping-interval-ms",
  "0",
  "--write-stall-timeout-ms",
  String(s.writeStallMs),
];
const serverGone =
  "PROTOCOL-HTTP2.md: a client that cancels resets its stream (RST_STREAM CANCEL); a server learns of a dropped connection from its transport; either cancels the call (CANCELLED)";
const serverSilent =
  "keepalive.md: a server without keepalive cannot tell a silent client from a slow one; with small replies the handler runs its course, its status filling the client's buffers";
const serverKeepaliveRule =
  "keepalive.md, server side: an unanswered PING closes the transport, and its calls are cancelled";
const stoppedReading =
  "RFC 9113 section 5.2: a receiver that never opens its window stops the sender for good; PINGs are answered all along (section 6.7), so keepalive cannot see it";

/** A case of the server's view. */
function serverView(c: Omit<LabCase, "group" | "view">): LabCase {
  return { ...c, group: "server", view: "server" };
}

const serverViewCases: LabCase[] = [
  serverView({
    id: "client-crash",
    summary: "SIGKILL to the client after message 1",
    serverArgs: serverRemediesOff,
    fault: [{ kind: "signal", target: "client", signal: "SIGKILL" }],
    evidence: [clientKilled()],
    timing: "from the fault to the handler's end, by the server's log",
    expect: { rule: ["canceled"], cite: serverGone },
  }),
  serverView({
    id: "client-ctrl-c",
    summary: "SIGINT (Ctrl-C) to the client after message 1: it cancels its call and exits",
    serverArgs: serverRemediesOff,
    fault: [{ kind: "signal", target: "client", signal: "SIGINT" }],
    // The client exits the moment its call has ended: its RST_STREAM(CANCEL) may not leave before
    // its socket closes (the tap shows which came).
    evidence: [clientLeft()],
    expect: { rule: ["canceled"], cite: serverGone },
  }),
  serverView({
    id: "client-deadline",
    summary: "the client's deadline (half the stream) runs out",
    driver: "agent",
    serverArgs: serverRemediesOff,
    clientArgs: (s) => ["--timeout-ms", String(Math.round(s.intervalMs * 1.5))],
    evidence: [deadlineSent(), clientLeft()],
    timing: "from the start of the call to the handler's end",
    expect: {
      rule: ["deadline_exceeded", "canceled"],
      cite: "PROTOCOL-HTTP2.md: the server honours the client's grpc-timeout (DEADLINE_EXCEEDED); the client cancels its expired call with RST_STREAM(CANCEL): whichever the server hears first ends its handler",
      departures: [
        {
          codes: ["deadline_exceeded", "canceled", "internal"],
          why: "connect-node's client resets a stream whose deadline expired with RST_STREAM(INTERNAL_ERROR), not CANCEL (the tap shows it): a server whose own timer has not fired yet reads internal",
        },
      ],
    },
  }),
  serverView({
    id: "client-suspend",
    summary: "SIGSTOP to the client after message 1; no server-side remedy",
    serverArgs: serverRemediesOff,
    fault: [{ kind: "signal", target: "client", signal: "SIGSTOP" }],
    evidence: [clientStopped()],
    timing: "from the fault to the handler's end (here: the end of the stream it believes delivered)",
    expect: { rule: ["ok"], cite: serverSilent },
  }),
  serverView({
    id: "client-suspend+server-keepalive",
    summary: "SIGSTOP to the client; the server PINGs (keepalive)",
    serverArgs: serverKeepaliveArgs,
    fault: [{ kind: "signal", target: "client", signal: "SIGSTOP" }],
    evidence: [clientStopped()],
    expect: { rule: ["canceled"], cite: serverKeepaliveRule },
  }),
  serverView({
    id: "client-blackhole",
    summary: "the network goes silent both ways after message 1 (the relay); no server-side remedy",
    driver: "agent",
    serverArgs: serverRemediesOff,
    fault: [{ kind: "network", mode: "blackhole" }],
    evidence: [blackholed("client")],
    timing: "from the fault to the handler's end (here: the end of the stream it believes delivered)",
    expect: { rule: ["ok"], cite: serverSilent },
  }),
  serverView({
    id: "client-blackhole+server-keepalive",
    summary: "the network goes silent; the server PINGs (keepalive)",
    driver: "agent",
    serverArgs: serverKeepaliveArgs,
    fault: [{ kind: "network", mode: "blackhole" }],
    evidence: [blackholed("client")],
    expect: { rule: ["canceled"], cite: serverKeepaliveRule },
  }),
  serverView({
    id: "client-stops-reading",
    summary: "a client that never opens its flow-control window, with replies of 100 kB; no server-side remedy",
    driver: "slow-reader",
    serverArgs: serverRemediesOff,
    evidence: [windowShut()],
    timing: "from the call's start",
    expect: { rule: ["hang"], cite: stoppedReading },
  }),
  serverView({
    id: "client-stops-reading+server-keepalive",
    summary: "the same; the server PINGs (keepalive), and the client answers",
    driver: "slow-reader",
    serverArgs: serverKeepaliveArgs,
    evidence: [windowShut()],
    timing: "from the call's start",
    expect: { rule: ["hang"], cite: stoppedReading },
  }),
  serverView({
    id: "client-stops-reading+write-stall-timeout",
    summary:
      "the same; the server's write-stall timeout is on (the Node servers: grpcio offers no view of flow control)",
    driver: "slow-reader",
    servers: ["connect", "grpc-js"],
    serverArgs: writeStallArgs,
    evidence: [windowShut()],
    timing: "from the call's start",
    expect: {
      rule: ["write-stalled"],
      cite: "lib/reply-flow.ts: a reply that cannot be sent for the write-stall timeout ends its stream (RST_STREAM ENHANCE_YOUR_CALM)",
    },
  }),
  serverView({
    id: "client-stops-reading-then-leaves",
    summary: "a client that never opens its window resets its stream after message 1 was made, its reply stuck",
    driver: "slow-reader",
    serverArgs: serverRemediesOff,
    fault: [{ kind: "reader", action: "reset" }],
    evidence: [windowShut(), clientCancelled()],
    expect: { rule: ["canceled"], cite: serverGone },
  }),
  serverView({
    id: "client-stops-reading-then-leaves+no-write-unblock",
    summary:
      "the same against the Connect server with lib/connect-write-unblock.ts turned off (--no-write-unblock): connect-node as it is",
    driver: "slow-reader",
    servers: ["connect"],
    serverArgs: () => [...serverRemediesOff(), "--no-write-unblock"],
    fault: [{ kind: "reader", action: "reset" }],
    evidence: [windowShut(), clientCancelled()],
    expect: {
      rule: ["canceled"],
      cite: serverGone,
      departures: [
        {
          server: "connect",
          codes: ["hang"],
          why: "connect-node 2.1.2 waits for a drain or error event that a closed stream never emits: the handler stays suspended at its yield, its signal aborted in vain (docs/repro/handler-never-ends.mts)",
        },
      ],
    },
  }),
];

/** The whole catalogue, in report order. */
export const labCases: readonly LabCase[] = [...clientViewCases, ...serverViewCases, ...proxyCases];

/** The outcomes allowed in a cell: the rule's, plus the known departures that match it. */
export function allowedOutcomes(
  expect: Expectation,
  cell: { server: string; client: string; protocol: string },
): string[] {
  const departures = matchingDepartures(expect, cell);
  return [...new Set([...(departures.length > 0 ? [] : expect.rule), ...departures.flatMap((d) => d.codes)])];
}

/** The known departures that apply to a cell. */
export function matchingDepartures(
  expect: Expectation,
  cell: { server: string; client: string; protocol: string },
): KnownDeparture[] {
  return (expect.departures ?? []).filter(
    (d) =>
      (d.server === undefined || d.server === cell.server) &&
      (d.client === undefined || d.client === cell.client) &&
      (d.protocol === undefined || d.protocol === cell.protocol),
  );
}
