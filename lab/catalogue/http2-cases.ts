/**
 * HTTP/2 faults from the fault peer (peers/fault-peer.ts): a server that sends message 1 and then
 * misbehaves on purpose, and a peer that accepts TCP and never speaks HTTP/2.
 */
import {
  type Evidence,
  endedWithoutStatus,
  goawayThenClose,
  mutePeer as mutePeerEvidence,
  resetAfterMessage,
} from "../faults/evidence.ts";
import {
  connectDroppedConnection,
  connectGoDropped,
  connectionFailure,
  connectNoEnd,
  connectRst,
  deadlineArgs,
  deadlineRule,
  grpcioPingTimeout,
  keepaliveArgs,
  keepaliveRule,
  rstRule,
  silentPeer,
  tlsHandshakeHang,
  tonicDeadline,
  tonicDropped,
} from "./case-parts.ts";
import type { Expectation, KnownDeparture, LabCase } from "./case-types.ts";

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

export const http2Cases: LabCase[] = [
  peerFault("rst-stream:0", "RST_STREAM(NO_ERROR), no trailers", [resetAfterMessage(0, "NO_ERROR")], {
    rule: ["internal"],
    cite: rstRule,
    departures: [
      connectNoEnd,
      {
        client: "grpc-java",
        codes: ["unavailable"],
        why: 'grpc-java maps RST_STREAM(NO_ERROR) to UNAVAILABLE ("RST_STREAM closed stream. HTTP/2 error code: NO_ERROR"), where the rule\'s table says INTERNAL',
      },
      {
        client: "tonic",
        codes: ["unknown"],
        why: 'tonic (h2) takes RST_STREAM(NO_ERROR) for the end of the body, and then misses the trailers: unknown "protocol error: missing grpc-status trailer, stream was terminated without a final status"',
      },
    ],
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
        connectGoDropped,
        tonicDropped,
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
        {
          client: "grpc-java",
          codes: ["internal"],
          why: 'grpc-java ends the streams of a connection closed after GOAWAY with the GOAWAY\'s code read as an RST code: internal "Connection closed after GOAWAY. HTTP/2 error code: INTERNAL_ERROR" (with GOAWAY(NO_ERROR): unavailable)',
        },
        connectGoDropped,
        tonicDropped,
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
          release: "1.51.1",
          codes: ["crashed"],
          why: 'grpcio 1.51.1 (Debian bookworm\'s python3-grpcio): the client process dies of SIGILL when a stream ends with trailers that carry no grpc-status; its synchronous API too (docs/repro/grpcio-missing-status.py); grpcio 1.85.1 reads unknown "No status received", as the rule says',
        },
        {
          client: "connect-go",
          protocol: "connect",
          codes: ["internal"],
          why: 'connect-go\'s Connect protocol reads a stream that ends without its end-stream message as internal "protocol error: unexpected EOF" (its gRPC and gRPC-Web protocols: unknown, as the rule)',
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
        why: "grpc-js (1.13 and later) starts keepalive only once the HTTP/2 session is up: a peer that accepts TCP and never sends SETTINGS is never pinged, and the call waits with no end (seen past 40 s); grpc-js 1.8-1.12 ended it unavailable (--versions)",
      },
      {
        client: "grpcio",
        codes: ["hang"],
        why: "gRPC core sends its preface, SETTINGS and WINDOW_UPDATE and then no PING to a peer that never answers its SETTINGS (the tap shows it): the call waits with no end; with grpc.keepalive_permit_without_calls 1 it PINGs, and 1.51.1 ends it unavailable while 1.85.1 waits its minute of PING timeout (the knob group, and the +ping-idle case)",
      },
      {
        client: "grpc-java",
        codes: ["hang"],
        why: "grpc-java starts keepalive once the transport is ready: a peer that accepts TCP and never answers the client's SETTINGS is never PINGed (the tap: the preface and SETTINGS, nothing after), and the call waits with no end",
      },
      {
        client: "grpc-go",
        codes: ["hang"],
        // Measured 2026-12-04 with --watchdog-ms 40000: unavailable at 20002 ms, the tap showing the
        // client's SETTINGS and no PING; the same for a call made after keepalive closed a stopped
        // server's connection (suspend+keepalive+call-again: its second call, 20.0 s after the first).
        why: "grpc-go starts keepalive once the server's preface came: a peer that never sends it is never PINGed (the tap: the client's SETTINGS, nothing after). Its connect timeout ends the attempt instead (grpc.ConnectParams.MinConnectTimeout, 20 s): unavailable \"error reading server preface: ... use of closed network connection\" at 20.0 s, past the watchdog",
      },
      tlsHandshakeHang,
    ],
  }),
  // Issue 18: the finding above holds for keepalive during calls only (the libraries' default).
  // With keepalive also while idle (keepalive_permit_without_calls, pingIdleConnection), gRPC core
  // PINGs the half-made connection too.
  mutePeer("+keepalive+ping-idle", (s) => [...keepaliveArgs(s), "--ping-idle"], {
    rule: ["unavailable"],
    cite: keepaliveRule,
    departures: [
      {
        client: "grpc-js",
        codes: ["hang"],
        why: "grpc-js (1.13 and later) starts keepalive only once the HTTP/2 session is up, keepalive_permit_without_calls or not: a peer that never sends SETTINGS is never pinged (1.8-1.12 did: --versions)",
      },
      grpcioPingTimeout,
      tlsHandshakeHang,
    ],
  }),
  mutePeer("+deadline", deadlineArgs, { rule: ["deadline_exceeded"], cite: deadlineRule, departures: [tonicDeadline] }),
];
