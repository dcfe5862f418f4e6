/**
 * The pieces the case catalogues share (cases.ts, proxy-cases.ts): the
 * remedies' client flags, the fault steps, the rules they cite, and the
 * departures measured for more than one case.
 */
import type { FaultStep, KnownDeparture } from "./case-types.ts";
import type { LabSettings } from "./settings.ts";

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
