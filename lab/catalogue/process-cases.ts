/**
 * Signals to the server process: shutdowns, a crash, a restart, a suspension (the original experiment's cases 1-4 and their remedies).
 */
import {
  drainedAfterGoaway,
  goawayAfterFault,
  nothingListens,
  pingsUnanswered,
  processKilled,
  processStopped,
  reconnected,
  serverLetGo,
  statusOnWire,
} from "../faults/evidence.ts";
import {
  connectDroppedConnection,
  connectGoDropped,
  connectionFailure,
  deadlineArgs,
  deadlineRule,
  grpcioPingTimeout,
  idleTimeoutArgs,
  idleTimeoutRule,
  keepaliveArgs,
  keepaliveRule,
  restartGapMs,
  silentPeer,
  suspend,
  tonicDeadline,
  tonicDropped,
} from "./case-parts.ts";
import type { KnownDeparture, LabCase } from "./case-types.ts";

export const processCases: LabCase[] = [
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
          tls: false,
          codes: ["internal"],
          why: 'grpc-js forceShutdown() sends GOAWAY(CANCEL) and destroys the session (the tap shows it); connect-node reads the session error "Session closed with error code 8" as internal',
        },
        {
          server: "grpc-js",
          client: "grpc-js",
          tls: false,
          codes: ["canceled"],
          why: "grpc-js's client reads its server's GOAWAY(CANCEL) as CANCELLED \"Call cancelled\"",
        },
        // Issue 19: over TLS that GOAWAY(CANCEL) never leaves. The tap shows GOAWAY(NO_ERROR), then the
        // server's TCP reset: the session was destroyed with the CANCEL frame still in the TLS layer.
        {
          server: "grpc-js",
          client: "connect",
          tls: true,
          codes: ["internal"],
          why: 'over TLS grpc-js forceShutdown()\'s GOAWAY(CANCEL) never reaches the wire (the tap: GOAWAY(NO_ERROR), then a TCP reset): connect-node reads a stream with no status, internal "protocol error: missing status"',
        },
        {
          server: "grpc-js",
          client: "grpc-js",
          tls: true,
          codes: ["internal"],
          why: "over TLS grpc-js forceShutdown()'s GOAWAY(CANCEL) never reaches the wire (the tap: GOAWAY(NO_ERROR), then a TCP reset): grpc-js's client reads internal \"Received RST_STREAM with code 0 (Call ended without gRPC status)\" where over h2c it read canceled",
        },
        ...(["connect", "grpc-js"] as const).map(
          (client): KnownDeparture => ({
            server: "grpcio",
            client,
            codes: ["unavailable", "internal"],
            why: 'gRPC core\'s stop(0) sends GOAWAY(INTERNAL_ERROR, "Cancelling all calls") and, in the same write, each call\'s trailers UNAVAILABLE "Cancelling all calls" (the tap shows both): a client that acts on the GOAWAY first reads internal, its code (grpc-js says "Received RST_STREAM with code 2", the original experiment\'s words)',
          }),
        ),
        // Issue 27: the servers in other languages.
        ...(["connect-go", "grpc-go", "tonic"] as const).map(
          (server): KnownDeparture => ({
            ...connectDroppedConnection,
            server,
            codes: ["canceled", "aborted"],
            why: `its immediate stop (${server === "connect-go" ? "net/http's Server.Close()" : server === "grpc-go" ? "grpc-go's Server.Stop()" : "the process ending, tonic's server dropped"}) closes the connections with no GOAWAY (the tap shows none), as a crash does: ${connectDroppedConnection.why} (aborted when the kernel closes with RST)`,
          }),
        ),
        {
          server: "grpc-java",
          codes: ["canceled"],
          why: 'grpc-java\'s shutdownNow() resets every stream with RST_STREAM(CANCEL) (the tap shows it) before it closes the connection: every client reads CANCELLED ("Call cancelled", "stream terminated by RST_STREAM with error code: CANCEL"), where the rule asks for UNAVAILABLE for a server shutting down',
        },
        // The clients in other languages read the stops that drop the connection as they read a crash
        // (grpc-js's: GOAWAY(CANCEL) and the session destroyed).
        ...(["connect", "grpc-js", "connect-go", "grpc-go", "tonic"] as const).flatMap((server): KnownDeparture[] => [
          { ...connectGoDropped, server },
          { ...tonicDropped, server },
        ]),
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
        connectGoDropped,
        tonicDropped,
      ],
    },
  },
  {
    id: "restart",
    group: "process",
    summary: "SIGKILL to the server, a new one on the same port, then a second call on the same transport or channel",
    clientArgs: (s, server) => ["--calls", "2", "--call-gap-ms", String(restartGapMs(s, server))],
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
    expect: {
      rule: ["unavailable"],
      cite: keepaliveRule,
      departures: [connectGoDropped, tonicDropped, grpcioPingTimeout],
    },
  },
  {
    id: "suspend+keepalive+call-again",
    group: "process",
    summary:
      "SIGSTOP to the server, client HTTP/2 keepalive on; when the call fails, the client calls again at once on the same channel (a retry)",
    clientArgs: (s) => [...keepaliveArgs(s), "--calls", "2"],
    fault: suspend,
    // connect-node 2.1.2 dies of it: the crash must take only its own run.
    ownProcess: ["connect"],
    // Those processes watch one server together, as suspend+ctrl-c's do (issue 29: a server each
    // was 15 server starts of the default run): the server is stopped right after message 1, so
    // the longer pause before message 2 that sharing takes changes nothing the run sees.
    sharedByProcesses: true,
    evidence: [processStopped(), pingsUnanswered()],
    expect: {
      // The second call's connection reaches the kernel's listen queue of a stopped process: no
      // SETTINGS ever come, and gRPC's connect timeout (20 s) is far beyond the watchdog.
      rule: ["hang"],
      cite: "connection-backoff.md: a connection attempt gets MIN_CONNECT_TIMEOUT (20 s) to complete",
      departures: [
        {
          client: "connect",
          codes: ["crashed"],
          why: "connect-node 2.1.2 destroys the connection whose PING timed out with an error Node emits a moment later; the new call moves its Http2SessionManager on, and the old state's cleanup removed the session's 'error' listener first: the error has no listener, and Node ends the process (docs/repro/ping-timeout-retry.mts; 2.3.0 keeps the listeners, --versions)",
        },
        {
          client: "grpcio",
          codes: ["hang", "unavailable"],
          why: 'a race in gRPC core 1.51: the second call either waits for a new connection\'s handshake, or starts on the connection keepalive is closing and ends with its error (unavailable "keepalive watchdog timeout"); gRPC core 1.85.1 never ends the first call within the watchdog (suspend+keepalive)',
        },
        {
          client: "connect-go",
          codes: ["unavailable"],
          why: 'connect-go\'s second call goes out on the connection its PING timeout has just closed and fails at once, unavailable "http2: client connection lost"',
        },
        {
          client: "tonic",
          codes: ["canceled", "unavailable"],
          why: 'tonic\'s second call, made the moment the first failed, ends at once: canceled "operation was canceled" or unavailable "http2 error" (15 and 6 of 21 runs in a full matrix), not waiting for a new connection to the stopped server as the rule expects',
        },
      ],
    },
  },
  {
    id: "suspend+deadline",
    group: "process",
    summary: "SIGSTOP to the server, client deadline set",
    clientArgs: deadlineArgs,
    fault: suspend,
    evidence: [processStopped()],
    expect: { rule: ["deadline_exceeded"], cite: deadlineRule, departures: [tonicDeadline] },
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
    fault: [...suspend, { kind: "signal", target: "client", signal: "SIGINT", afterMs: (s) => s.ctrlCDelayMs }],
    timing: "from the SIGINT to the client's result",
    evidence: [processStopped()],
    expect: { rule: ["canceled"], cite: "statuscodes.md: CANCELLED when the caller cancels" },
  },
];
