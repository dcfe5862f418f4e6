/**
 * The case catalogue: what the lab does to a Chat stream, the evidence that
 * fault must leave, and what the gRPC rules and each stack say should come
 * of it. A new case is one entry in `labCases`; the engine, the check and
 * the reports take it from here.
 */
import {
  blackholed,
  bothLegsReset,
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
  stalledButAlive,
  statusOnWire,
} from "../faults/evidence.ts";
import type { LabSettings } from "./settings.ts";

export { defaultSettings, type LabSettings, quickSettings } from "./settings.ts";

/**
 * One step of a fault, done in order once the client has message 1:
 * - signal: a signal to the server or the client, afterMs after the previous step;
 * - network: the relay between them turns to blackhole or reset;
 * - restart: SIGKILL to the server, and a new one on the same port;
 * - stall: nothing to do, the server's handler goes silent after message 1 by itself (--stall-after 1);
 * - peer: nothing to do, the fault peer commits its own fault; its `fault: ... at` line times it.
 * Steps on the server process (a server signal, restart) are done once per server and watched by
 * every client on it; the others are done per run.
 */
export type FaultStep =
  | { kind: "signal"; target: "server" | "client"; signal: NodeJS.Signals; afterMs?: (settings: LabSettings) => number }
  | { kind: "network"; mode: "blackhole" | "reset" }
  | { kind: "restart" }
  | { kind: "stall" }
  | { kind: "peer" };

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
 * HTTP/2-level faults (fault peer), and what a health Watch stream reports.
 */
export const caseGroups = ["process", "network", "handler", "http2", "health"] as const;
export type CaseGroup = (typeof caseGroups)[number];

export interface LabCase {
  id: string;
  group: CaseGroup;
  /** One line: what is done. */
  summary: string;
  /** Start no server at all (the client calls a port nobody listens on). Default: false. */
  noServer?: boolean;
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

const keepaliveArgs = (s: LabSettings) => [
  "--ping-interval-ms",
  String(s.keepalive.intervalMs),
  "--ping-timeout-ms",
  String(s.keepalive.timeoutMs),
];
const deadlineArgs = (s: LabSettings) => ["--timeout-ms", String(s.deadlineMs)];
const idleTimeoutArgs = (s: LabSettings) => ["--idle-timeout-ms", String(s.idleTimeoutMs)];
const suspend: FaultStep[] = [{ kind: "signal", target: "server", signal: "SIGSTOP" }];
const blackhole: FaultStep[] = [{ kind: "network", mode: "blackhole" }];
const stall: FaultStep[] = [{ kind: "stall" }];
const stallArgs = () => ["--stall-after", "1"];
const watchHealthArgs = () => ["--watch-health"];
const healthWatchRule =
  "health-checking.md: Watch sends the status, then each change; a server that stops serving says NOT_SERVING";

const connectionFailure =
  "PROTOCOL-HTTP2.md, Connection failure: a detectable connection failure closes all calls with UNAVAILABLE";
const silentPeer =
  "keepalive.md: without keepalive, a deadline or an idle timeout nothing notices a peer that stays connected and silent";
const keepaliveRule = "A8 client-side keepalive: an unanswered PING closes the transport, calls fail UNAVAILABLE";
const deadlineRule = "statuscodes.md: DEADLINE_EXCEEDED when the deadline expires first";
const idleTimeoutRule =
  "lib/idle-timeout-interceptor.ts: no message within the idle timeout aborts the call with DEADLINE_EXCEEDED";
const rstRule = "PROTOCOL-HTTP2.md, RST_STREAM to gRPC code mapping";

/**
 * Node synthesises RST_STREAM(CANCEL) for the streams of a connection that
 * dropped, and connect-node maps RST CANCEL to canceled (node-error.ts).
 */
const connectDroppedConnection: KnownDeparture = {
  client: "connect",
  codes: ["canceled"],
  why: "Node reports a dropped connection as RST_STREAM(CANCEL) on each stream, and connect-node maps that to canceled",
};

/**
 * How connect-node reads a peer's RST_STREAM, measured with the reset really
 * on the wire (issue 10): the same on all three protocols.
 */
const connectRst: KnownDeparture = {
  client: "connect",
  codes: ["internal"],
  why: "Node reports a peer's RST_STREAM with any code but NO_ERROR and CANCEL as a stream error (\"Stream closed with error code NGHTTP2_...\"), which connect-node maps to internal before its RST-code table is consulted: that table's REFUSED_STREAM->unavailable and ENHANCE_YOUR_CALM->resource_exhausted rows are never reached on the client, on any protocol",
};

/** A Connect-protocol stream cut short without an error code reads as a body without its end. */
const connectNoEnd: KnownDeparture = {
  client: "connect",
  protocol: "connect",
  codes: ["invalid_argument"],
  why: 'Node reads RST_STREAM(NO_ERROR) as a clean end of the body; connect-node\'s Connect protocol then misses its EndStreamResponse: invalid_argument "protocol error: missing EndStreamResponse"',
};

/** A case where the fault peer sends message 1 and then commits `fault` (a --fault value) by itself. */
function peerFault(fault: string, what: string, evidence: Evidence[], expect: Expectation): LabCase {
  return {
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

export const labCases: readonly LabCase[] = [
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
      departures: [
        {
          client: "connect",
          codes: ["aborted"],
          why: "connect-node maps the socket's ECONNRESET to aborted (node-error.ts), not to unavailable",
        },
      ],
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
      ],
    },
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
    ],
  }),
  mutePeer("+deadline", deadlineArgs, { rule: ["deadline_exceeded"], cite: deadlineRule }),
];

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
