/**
 * The pieces the case catalogues share (cases.ts, proxy-cases.ts): the
 * remedies' client flags, the fault steps, the rules they cite, and the
 * departures measured for more than one case.
 */
import type { FaultStep, KnownDeparture } from "./case-types.ts";
import type { LabSettings } from "./settings.ts";

/**
 * How long a client waits after its call failed before it calls again on a restarted server: the
 * lab's gap, and four times the time a slow-starting server (a JVM) takes to listen again on an
 * idle machine (issue 27: twice was not enough in a full matrix on 2 cores).
 */
export const restartGapMs = (s: LabSettings, server?: { startMs?: number }) =>
  s.restartGapMs + 4 * (server?.startMs ?? 0);

export const keepaliveArgs = (s: LabSettings) => [
  "--ping-interval-ms",
  String(s.keepalive.intervalMs),
  "--ping-timeout-ms",
  String(s.keepalive.timeoutMs),
];
export const deadlineArgs = (s: LabSettings) => ["--timeout-ms", String(s.deadlineMs)];
export const idleTimeoutArgs = (s: LabSettings) => ["--idle-timeout-ms", String(s.idleTimeoutMs)];
export const suspend: FaultStep[] = [{ kind: "signal", target: "server", signal: "SIGSTOP" }];
export const blackhole: FaultStep[] = [{ kind: "network", mode: "blackhole" }];
export const stall: FaultStep[] = [{ kind: "stall" }];
export const stallArgs = () => ["--stall-after", "1"];
export const watchHealthArgs = () => ["--watch-health"];
export const healthWatchRule =
  "health-checking.md: Watch sends the status, then each change; a server that stops serving says NOT_SERVING";

export const connectionFailure =
  "PROTOCOL-HTTP2.md, Connection failure: a detectable connection failure closes all calls with UNAVAILABLE";
export const silentPeer =
  "keepalive.md: without keepalive, a deadline or an idle timeout nothing notices a peer that stays connected and silent";
export const keepaliveRule =
  "A8 client-side keepalive: an unanswered PING closes the transport, calls fail UNAVAILABLE";
export const deadlineRule = "statuscodes.md: DEADLINE_EXCEEDED when the deadline expires first";
export const idleTimeoutRule =
  "lib/idle-timeout-interceptor.ts: no message within the idle timeout aborts the call with DEADLINE_EXCEEDED";
export const rstRule = "PROTOCOL-HTTP2.md, RST_STREAM to gRPC code mapping";

/**
 * Node synthesises RST_STREAM(CANCEL) for the streams of a connection that
 * dropped, and connect-node maps RST CANCEL to canceled (node-error.ts).
 */
export const connectDroppedConnection: KnownDeparture = {
  client: "connect",
  codes: ["canceled"],
  why: "Node reports a dropped connection as RST_STREAM(CANCEL) on each stream, and connect-node maps that to canceled",
};

/**
 * How connect-node reads a peer's RST_STREAM, measured with the reset really
 * on the wire (issue 10): the same on all three protocols.
 */
export const connectRst: KnownDeparture = {
  client: "connect",
  codes: ["internal"],
  why: "Node reports a peer's RST_STREAM with any code but NO_ERROR and CANCEL as a stream error (\"Stream closed with error code NGHTTP2_...\"), which connect-node maps to internal before its RST-code table is consulted: that table's REFUSED_STREAM->unavailable and ENHANCE_YOUR_CALM->resource_exhausted rows are never reached on the client, on any protocol",
};

/**
 * Over TLS (--tls, issue 19), a peer that accepts TCP and never answers the
 * client's ClientHello (a mute peer; a suspended server met by a new
 * connection): keepalive is HTTP/2's, and no HTTP/2 session exists yet.
 */
export const tlsHandshakeHang: KnownDeparture = {
  tls: true,
  codes: ["hang"],
  why: 'over TLS the peer never answers the ClientHello (the tap: the client\'s 300-odd bytes, none back), and HTTP/2 keepalive starts only with the HTTP/2 session, which waits for the handshake: connect-node, grpc-js and gRPC core wait with no PING; connect-node and grpc-js bound the handshake by nothing (docs/repro/tls-mute-peer.mts, no lab code), gRPC core by its 20 s connect timeout (measured: unavailable "Handshake read failed" after 20.2 s, beyond the watchdog)',
};

/** A Connect-protocol stream cut short without an error code reads as a body without its end. */
export const connectNoEnd: KnownDeparture = {
  client: "connect",
  protocol: "connect",
  codes: ["invalid_argument"],
  why: 'Node reads RST_STREAM(NO_ERROR) as a clean end of the body; connect-node\'s Connect protocol then misses its EndStreamResponse: invalid_argument "protocol error: missing EndStreamResponse"',
};

/** connect-node reading a reset TCP connection (the reset cases, direct and behind a proxy). */
export const connectReset: KnownDeparture = {
  client: "connect",
  codes: ["aborted", "canceled"],
  why: "connect-node maps the socket's ECONNRESET to aborted (node-error.ts), not to unavailable; on a busy machine (1 run in 80 with two other labs running) the reset reached Node as a close without its error, and Node ended the stream as RST_STREAM(CANCEL): canceled (the tap shows the same RST on the client's connection)",
};

/**
 * connect-go's client reading a connection that ended under a stream (issue 27), on all three
 * protocols: measured in every case where the connection goes (a crash, keepalive giving up, a
 * reset, a GOAWAY with the stream cut), and the same with connect-go alone (docs/repro/go).
 */
export const connectGoDropped: KnownDeparture = {
  client: "connect-go",
  codes: ["internal", "canceled"],
  why: 'connect-go reads a connection that ends while it waits for the next message as a cut envelope: internal "protocol error: incomplete envelope: ..." with the transport\'s error inside ("unexpected EOF"; "http2: client connection lost" when its own PING timeout closed it; "server sent GOAWAY and closed the connection"), on all three protocols (envelope.go); a TCP reset it reads as canceled "read: connection reset by peer" (error.go takes ECONNRESET for a client that went away). docs/repro/go/connect-go-crash, connect-go alone; no upstream issue found for the code (related: connectrpc/connect-go #774)',
};

/** tonic's client reading a broken connection (issue 27; docs/repro/rust, tonic alone). */
export const tonicDropped: KnownDeparture = {
  client: "tonic",
  codes: ["unknown"],
  why: 'tonic maps the error hyper/h2 report for a connection that broke under a stream to unknown: "h2 protocol error: error reading a body from connection" ("transport error" when it broke before the response; "missing grpc-status trailer" when a proxy ended the stream without one): its status.rs gives a code to a few HTTP/2 reasons only, and a lost connection is none of them. docs/repro/rust (tonic-crash), tonic alone; related upstream: hyperium/tonic #1564, grpc/grpc-rust #848',
};

/**
 * tonic's client deadline on a server stream (issue 27): Request::set_timeout sends grpc-timeout and
 * bounds the wait for the response headers only (docs/repro/rust tonic-stream-deadline).
 */
export const tonicDeadline: KnownDeparture = {
  client: "tonic",
  codes: ["hang", "canceled", "deadline_exceeded"],
  why: "tonic's deadline (Request::set_timeout, as Endpoint::timeout) bounds only the wait for the response headers, and ends that wait as canceled \"Timeout expired\", not deadline_exceeded; once the headers came, the deadline is the server's to enforce (the grpc-timeout header): a suspended or unreachable server leaves the stream waiting for good; a live server that enforces it ends it with its DEADLINE_EXCEEDED status (connect-node, grpc-js, gRPC core, connect-go, grpc-go) or with RST_STREAM(CANCEL), read as canceled (grpc-java, grpc-go at times). docs/repro/rust (tonic-stream-deadline), tonic alone; related upstream: grpc/grpc-rust #936",
};

/**
 * gRPC core 1.85.1's client keepalive (issue 27): keepalive_timeout_ms alone no longer bounds the wait
 * for a PING's ACK; grpc.http2.ping_timeout_ms (1 minute by default once keepalive is on) does.
 */
export const grpcioPingTimeout: KnownDeparture = {
  client: "grpcio",
  codes: ["hang"],
  why: 'gRPC core 1.85.1 PINGs as told (the tap: PINGs about 1 s apart, unanswered) but gives up on them only after grpc.http2.ping_timeout_ms, 1 minute by default when keepalive is on, whatever keepalive_timeout_ms says: measured without the lab (docs/repro/grpcio-keepalive-timeout.py), unavailable "ping timeout" 61.0 s after the server stopped, and 1.25 s with grpc.http2.ping_timeout_ms 250; gRPC core 1.51.1 gave up after keepalive_timeout_ms ("keepalive watchdog timeout", --versions). keepalive.md names no such option; no upstream issue found',
};

/**
 * grpc-java's server handler writing to a client that stopped reading (issue 27): its
 * StreamObserver.onNext never blocks on flow control.
 */
export const grpcJavaWritesQueue: KnownDeparture = {
  server: "grpc-java",
  codes: ["ok", "hang"],
  why: "grpc-java's StreamObserver.onNext never waits for flow control (a handler must watch ServerCallStreamObserver.isReady() or its onReadyHandler to): with the client's window shut, the 100 kB replies queue in the server's memory and the handler ends ok about a second in, believing them sent (the tap: no DATA after the HEADERS); on a busy machine it ends after the watchdog, a hang",
};

/** gRPC core 1.85.1's server keepalive: the same PING timeout as its client's (issue 27). */
export const grpcioServerPingTimeout: KnownDeparture = {
  server: "grpcio",
  codes: ["ok"],
  why: "gRPC core 1.85.1's server PINGs as told (the tap: its PING 250 ms on, unanswered) but waits grpc.http2.ping_timeout_ms, a minute by default once keepalive is on, for the ACK, whatever keepalive_timeout_ms says: the handler wrote its stream into gRPC core and ended ok. With grpc.http2.ping_timeout_ms 250 (a profile), the handler ended canceled, as the rule says (measured); the client side of the same: docs/repro/grpcio-keepalive-timeout.py",
};

/**
 * A gRPC server that enforces its ping policy as shipped (keepalive.md; grpc-go's EnforcementPolicy,
 * grpc-java's permitKeepAliveTime: 5 minutes, 2 strikes) against a client that PINGs a silent stream.
 */
export const tooManyPings = (server: string): KnownDeparture[] =>
  (
    [
      ["connect", ["internal"], 'connect-node reads the session error "Session closed with error code 11" as internal'],
      ["grpc-js", ["resource_exhausted"], "grpc-js maps ENHANCE_YOUR_CALM to RESOURCE_EXHAUSTED"],
      [
        "grpcio",
        ["unavailable"],
        'gRPC core: unavailable "GOAWAY received; Error code: 11; Debug Text: too_many_pings"',
      ],
      [
        "connect-go",
        ["internal", "unavailable"],
        'connect-go: internal "incomplete envelope: ... ENHANCE_YOUR_CALM, debug=too_many_pings", or unavailable "Too many pings"',
      ],
      [
        "grpc-go",
        ["unavailable"],
        'grpc-go: unavailable "received prior goaway: code: ENHANCE_YOUR_CALM, debug data: too_many_pings"',
      ],
      [
        "grpc-java",
        ["resource_exhausted", "unavailable"],
        'grpc-java: resource_exhausted "ENHANCE_YOUR_CALM (Bandwidth exhausted), debug data: too_many_pings", or unavailable when its stream is reset first',
      ],
      [
        "tonic",
        ["unavailable", "unknown"],
        'tonic: unavailable "Too many pings", or unknown "error reading a body from connection"',
      ],
    ] as const
  ).map(([client, codes, how]) => ({
    server,
    client,
    // A client whose keepalive floor (10 s) leaves it too few PINGs before the watchdog draws no GOAWAY.
    codes: [...codes, "hang"],
    why: `the ${server} server enforces its ping policy as shipped (keepalive.md: a PING sooner than 5 minutes after the last while it sends no data is a strike, 2 allowed): the client's third or fourth PING drew GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") (the tap shows it); ${how}; a client that PINGs too seldom before the watchdog (grpc-go and grpc-java: 10 s apart) hangs as the rule says`,
  }));
