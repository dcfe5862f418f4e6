import {
  blackholed,
  clientCancelled,
  clientKilled,
  clientLeft,
  clientStopped,
  deadlineSent,
  windowShut,
} from "../faults/evidence.ts";
import { grpcioServerPingTimeout, grpcJavaWritesQueue } from "./case-parts.ts";
import type { LabCase } from "./case-types.ts";
import { floorWatchdogMs, type LabSettings } from "./settings.ts";

/**
 * The server's view (issue 13): the client is the one that dies, hangs or
 * stops reading, and the outcome is how the server's handler ended, read off
 * the server's log: the code of its `client gone` or `ended` line,
 * `write-stalled` (reset by the write-stall timeout), `undelivered` (it ended
 * but its status never left), or `hang` (still running at the watchdog).
 * Server-side remedies are off unless a case turns one on, so that each is
 * measured alone: every case takes the server as its library ships it
 * (serverAsShipped), and adds its remedy.
 */
const serverKeepaliveArgs = (s: LabSettings, server?: { keepaliveFloorMs?: number }) => [
  "--ping-interval-ms",
  String(s.keepalive.intervalMs),
  "--ping-timeout-ms",
  String(s.keepalive.timeoutMs),
  // A stream long enough to outlast twice the keepalive's bound, at the server's own floor where it
  // keeps PINGs further apart (grpc-go: 1 s, issue 27): its end must not come first, or a handler
  // that ends ok would be the lab's short stream, not a finding.
  "--count",
  String(Math.max(s.count, Math.ceil(floorWatchdogMs(serverKeepaliveBoundMs(s, server)) / s.intervalMs) + 1)),
];
/** How long a server's keepalive takes to give up on a silent client: its interval (or floor) and timeout. */
export const serverKeepaliveBoundMs = (s: LabSettings, server?: { keepaliveFloorMs?: number }) =>
  Math.max(s.keepalive.intervalMs, server?.keepaliveFloorMs ?? 0) + s.keepalive.timeoutMs;
const writeStallArgs = (s: LabSettings) => ["--write-stall-timeout-ms", String(s.writeStallMs)];
/**
 * Why `recommended` ends no stream of a client that stops reading on these servers (issues 18 and
 * 27): they have no write-stall timeout, and keepalive sees a live client. A max connection age
 * with a grace does end it (the knob group: client-stops-reading@...grace), by closing every
 * connection at that age: at the lab's timings that would cut healthy streams too, a price
 * `recommended` does not pay.
 */
const noWriteStall = (server: string, setting: string) => ({
  server,
  why: `${server}'s server has no write-stall timeout, and keepalive sees a live client: ${setting} ends the stream (the knob group), by closing every connection at that age, a price recommended does not pay at the lab's timings`,
});
const stuckWriterSettings = [
  noWriteStall("grpcio", "grpc.max_connection_age_ms with grpc.max_connection_age_grace_ms"),
  noWriteStall("grpc-go", "keepalive.ServerParameters.MaxConnectionAge with MaxConnectionAgeGrace"),
  noWriteStall("grpc-java", "NettyServerBuilder.maxConnectionAge with maxConnectionAgeGrace"),
  noWriteStall("tonic", "Server::max_connection_age with max_connection_age_grace"),
  {
    server: "connect-go",
    why: "connect-go's server (net/http) has no write-stall timeout and no max connection age, and keepalive sees a live client",
  },
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

export const serverViewCases: LabCase[] = [
  serverView({
    id: "client-crash",
    summary: "SIGKILL to the client after message 1",
    serverAsShipped: true,
    fault: [{ kind: "signal", target: "client", signal: "SIGKILL" }],
    evidence: [clientKilled()],
    timing: "from the fault to the handler's end, by the server's log",
    expect: { rule: ["canceled"], cite: serverGone },
  }),
  serverView({
    id: "client-ctrl-c",
    summary: "SIGINT (Ctrl-C) to the client after message 1: it cancels its call and exits",
    serverAsShipped: true,
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
    serverAsShipped: true,
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
    serverAsShipped: true,
    fault: [{ kind: "signal", target: "client", signal: "SIGSTOP" }],
    evidence: [clientStopped()],
    timing: "from the fault to the handler's end (here: the end of the stream it believes delivered)",
    expect: { rule: ["ok"], cite: serverSilent },
  }),
  serverView({
    id: "client-suspend+server-keepalive",
    summary: "SIGSTOP to the client; the server PINGs (keepalive)",
    serverAsShipped: true,
    serverArgs: serverKeepaliveArgs,
    fault: [{ kind: "signal", target: "client", signal: "SIGSTOP" }],
    evidence: [clientStopped()],
    expect: { rule: ["canceled"], cite: serverKeepaliveRule, departures: [grpcioServerPingTimeout] },
  }),
  serverView({
    id: "client-blackhole",
    summary: "the network goes silent both ways after message 1 (the relay); no server-side remedy",
    driver: "agent",
    serverAsShipped: true,
    fault: [{ kind: "network", mode: "blackhole" }],
    evidence: [blackholed("client")],
    timing: "from the fault to the handler's end (here: the end of the stream it believes delivered)",
    expect: { rule: ["ok"], cite: serverSilent },
  }),
  serverView({
    id: "client-blackhole+server-keepalive",
    summary: "the network goes silent; the server PINGs (keepalive)",
    driver: "agent",
    serverAsShipped: true,
    serverArgs: serverKeepaliveArgs,
    fault: [{ kind: "network", mode: "blackhole" }],
    evidence: [blackholed("client")],
    expect: { rule: ["canceled"], cite: serverKeepaliveRule, departures: [grpcioServerPingTimeout] },
  }),
  serverView({
    id: "client-stops-reading",
    summary: "a client that never opens its flow-control window, with replies of 100 kB; no server-side remedy",
    driver: "slow-reader",
    serverAsShipped: true,
    noSetting: stuckWriterSettings,
    evidence: [windowShut()],
    timing: "from the call's start",
    expect: { rule: ["hang"], cite: stoppedReading, departures: [grpcJavaWritesQueue] },
  }),
  serverView({
    id: "client-stops-reading+server-keepalive",
    summary: "the same; the server PINGs (keepalive), and the client answers",
    driver: "slow-reader",
    serverAsShipped: true,
    noSetting: stuckWriterSettings,
    serverArgs: serverKeepaliveArgs,
    evidence: [windowShut()],
    timing: "from the call's start",
    expect: { rule: ["hang"], cite: stoppedReading, departures: [grpcJavaWritesQueue] },
  }),
  serverView({
    id: "client-stops-reading+write-stall-timeout",
    summary:
      "the same; the server's write-stall timeout is on (the Node servers: grpcio offers no view of flow control)",
    driver: "slow-reader",
    servers: ["connect", "grpc-js"],
    serverAsShipped: true,
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
    serverAsShipped: true,
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
    serverAsShipped: true,
    serverArgs: () => ["--no-write-unblock"],
    noSetting: [
      {
        why: "a connect-node 2.1.2 bug that only code reaches (lib/connect-write-unblock.ts, which this case turns off): no library or server setting ends the handler",
      },
    ],
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
