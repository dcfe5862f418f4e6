/**
 * The proxy group (issue 14): the faults that matter through one hop, for
 * each proxy of proxies.ts, with the client's remedies and the proxy's own
 * (its upstream timeouts, HAProxy's health checks). Each case is a case of
 * cases.ts with `proxy` set: the call goes client -> relay -> proxy ->
 * relay -> server, and its evidence is read on the hop where the fault is.
 */
import {
  blackholed,
  bothLegsReset,
  drainedAfterGoaway,
  type Evidence,
  goawayAfterFault,
  onHop,
  processKilled,
  processStopped,
  proxyAnswersPings,
  reconnected,
  statusOnWire,
} from "../faults/evidence.ts";
import {
  connectGoDropped,
  connectReset,
  deadlineArgs,
  deadlineRule,
  grpcioPingTimeout,
  idleTimeoutArgs,
  idleTimeoutRule,
  keepaliveArgs,
  keepaliveRule,
  suspend,
  tonicDeadline,
  tonicDropped,
} from "./case-parts.ts";
import type { FaultStep, Hop, KnownDeparture, LabCase } from "./case-types.ts";
import { type ProxyStack, type ProxyVariant, proxyStacks } from "./proxies.ts";

const upstream = (e: Evidence) => onHop("proxy-server", e);
const downstream = (e: Evidence) => onHop("client-proxy", e);
const network = (mode: "blackhole" | "reset", hop: Hop): FaultStep[] => [{ kind: "network", mode, hop }];

/** Keepalive is one TCP hop's: a proxy answers the client's PINGs itself and does not pass them on. */
const oneHop =
  "keepalive.md: keepalive PINGs are frames of one HTTP/2 connection; a proxy answers them itself (RFC 9113 6.7: PING is connection-level), so they prove only the hop to the proxy";

/**
 * nginx losing its upstream mid-stream (closed, reset, or silent past
 * grpc_read_timeout), measured on both hops: it resets the client's stream.
 */
const nginxLostUpstream: KnownDeparture[] = [
  {
    codes: ["internal"],
    why: "nginx resets the client's stream with RST_STREAM(INTERNAL_ERROR) once it has lost the server mid-stream (the tap shows it on the client-proxy hop), and every client maps INTERNAL_ERROR to internal (PROTOCOL-HTTP2.md), a code retry policies leave alone; grpcio says \"Received RST_STREAM with error code 2\", the original experiment's words",
  },
];

/**
 * HAProxy losing its upstream mid-stream: it ends the client's stream as if
 * it were over, an empty DATA frame with END_STREAM and no trailers, so each
 * client reads a response with no status.
 */
const haproxyEnds =
  "HAProxy ends the client's stream cleanly once it has lost the server mid-stream: an empty DATA frame with END_STREAM, no trailers (the tap shows it on the client-proxy hop), so the response has no status";
const haproxyLostUpstream: KnownDeparture[] = [
  ...(["grpc", "grpc-web"] as const).map(
    (protocol): KnownDeparture => ({
      client: "connect",
      protocol,
      codes: ["internal"],
      why: `${haproxyEnds}; connect-node calls that a protocol error: internal "protocol error: missing ${protocol === "grpc" ? "status" : "trailer"}"`,
    }),
  ),
  {
    client: "connect",
    protocol: "connect",
    codes: ["invalid_argument"],
    why: `${haproxyEnds}; connect-node's Connect protocol misses its end-stream message: invalid_argument "protocol error: missing EndStreamResponse"`,
  },
  {
    client: "grpc-js",
    codes: ["internal"],
    why: `${haproxyEnds}; grpc-js reads internal "Received RST_STREAM with code 0 (Call ended without gRPC status)"`,
  },
  {
    client: "grpcio",
    codes: ["unknown"],
    why: `${haproxyEnds}; gRPC core follows http-grpc-status-mapping.md (HTTP 200 without grpc-status is UNKNOWN): unknown "Stream removed"`,
  },
  // Issue 27: the clients in other languages.
  {
    client: "connect-go",
    codes: ["internal"],
    why: `${haproxyEnds}; connect-go: internal "protocol error: no Grpc-Status trailer: unexpected EOF" (its Connect protocol: "protocol error: unexpected EOF")`,
  },
  {
    client: "grpc-go",
    codes: ["internal"],
    why: `${haproxyEnds}; grpc-go: internal "server closed the stream without sending trailers"`,
  },
  {
    client: "grpc-java",
    codes: ["internal"],
    why: `${haproxyEnds}; grpc-java: internal "Received unexpected EOS on empty DATA frame from server"`,
  },
  {
    client: "tonic",
    codes: ["unknown"],
    why: `${haproxyEnds}; tonic follows http-grpc-status-mapping.md as gRPC core does: unknown "protocol error: missing grpc-status trailer"`,
  },
];

/** How each proxy departs when it loses the server mid-stream, whatever the cause. */
const lostUpstream: Record<string, KnownDeparture[]> = { nginx: nginxLostUpstream, haproxy: haproxyLostUpstream };

/** What a case is, before it is made for a proxy. */
interface ProxyCaseSpec extends Omit<LabCase, "id" | "group" | "proxy" | "summary"> {
  name: string;
  summary: string;
  variant?: ProxyVariant;
  /** Measured departures, by proxy id, added to the expectation's. */
  proxyDepartures?: Record<string, KnownDeparture[]>;
}

const specs: ProxyCaseSpec[] = [
  {
    name: "normal",
    summary: "no fault: the stream runs to its end through the proxy",
    timing: "from the start of the call to the client's result",
    evidence: [downstream(statusOnWire("ok")), upstream(statusOnWire("ok"))],
    expect: { rule: ["ok"], cite: "statuscodes.md: OK" },
  },
  {
    name: "crash",
    proxyDepartures: lostUpstream,
    summary: "SIGKILL to the server behind the proxy",
    fault: [{ kind: "signal", target: "server", signal: "SIGKILL" }],
    evidence: [upstream(processKilled())],
    expect: {
      rule: ["unavailable"],
      cite: "http-grpc-status-mapping.md: an intermediary that cannot reach the server answers 502/503/504, read as UNAVAILABLE",
    },
  },
  {
    name: "shutdown-graceful",
    summary: "SIGTERM to the server behind the proxy, grace longer than the rest of the stream",
    serverArgs: (s) => ["--grace-ms", String(s.intervalMs * (s.count + 1))],
    fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
    evidence: [upstream(drainedAfterGoaway()), downstream(statusOnWire("ok"))],
    expect: {
      rule: ["ok"],
      cite: "PROTOCOL-HTTP2.md, GOAWAY: the streams already accepted run to their end; a proxy passes the rest of the stream on",
    },
  },
  {
    name: "shutdown-abrupt",
    summary: "SIGTERM to the server behind the proxy, zero grace",
    serverArgs: () => ["--grace-ms", "0"],
    fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
    evidence: [upstream(goawayAfterFault()), upstream(statusOnWire("unavailable"))],
    expect: {
      rule: ["unavailable"],
      cite: "statuscodes.md: UNAVAILABLE for a server shutting down; the server's trailers pass through the proxy",
    },
  },
  {
    name: "restart",
    summary:
      "SIGKILL to the server behind the proxy, a new one on the same port, then a second call on the same transport or channel",
    clientArgs: (s) => ["--calls", "2", "--call-gap-ms", String(s.restartGapMs)],
    fault: [{ kind: "restart" }],
    timing: "recovery: from the second call's start to its first message; the code is the second call's",
    evidence: [upstream(reconnected())],
    expect: {
      rule: ["ok"],
      cite: "the client's connection to the proxy never broke; the proxy opens a new connection to the new server for the second call",
    },
  },
  {
    name: "suspend",
    summary: "SIGSTOP to the server behind the proxy, no remedy",
    fault: suspend,
    evidence: [upstream(processStopped())],
    expect: {
      rule: ["hang"],
      cite: "keepalive.md: nothing notices a silent peer without a remedy; the proxies' own upstream timeouts default to 60 s",
    },
  },
  {
    name: "suspend+keepalive",
    summary: "SIGSTOP to the server behind the proxy, client HTTP/2 keepalive on",
    clientArgs: keepaliveArgs,
    fault: suspend,
    evidence: [upstream(processStopped()), proxyAnswersPings()],
    expect: { rule: ["hang"], cite: oneHop },
  },
  {
    name: "suspend+deadline",
    summary: "SIGSTOP to the server behind the proxy, client deadline set",
    clientArgs: deadlineArgs,
    fault: suspend,
    evidence: [upstream(processStopped())],
    expect: {
      rule: ["deadline_exceeded"],
      cite: `${deadlineRule}: the client's own timer, whatever lies between`,
      departures: [tonicDeadline],
    },
  },
  {
    name: "suspend+idle-timeout",
    summary: "SIGSTOP to the server behind the proxy, client idle timeout set",
    clientArgs: idleTimeoutArgs,
    fault: suspend,
    evidence: [upstream(processStopped())],
    expect: { rule: ["deadline_exceeded"], cite: idleTimeoutRule },
  },
  {
    name: "suspend+upstream-timeout",
    proxyDepartures: lostUpstream,
    variant: "upstream-timeout",
    summary: "SIGSTOP to the server behind the proxy, the proxy's upstream read timeout set to the idle timeout",
    fault: suspend,
    evidence: [upstream(processStopped())],
    expect: {
      rule: ["unavailable"],
      cite: "nginx grpc_read_timeout / HAProxy timeout server: silence from the server this long ends the request; http-grpc-status-mapping.md: the proxy's 504 reads as UNAVAILABLE",
    },
  },
  {
    name: "suspend+health-check",
    proxyDepartures: lostUpstream,
    variant: "health-check",
    summary:
      "SIGSTOP to the server behind the proxy, the proxy health-checks it (HAProxy: on-marked-down shutdown-sessions)",
    fault: suspend,
    evidence: [upstream(processStopped())],
    expect: {
      rule: ["unavailable"],
      cite: "HAProxy configuration.txt, on-marked-down shutdown-sessions: a server marked down has its sessions closed; http-grpc-status-mapping.md: UNAVAILABLE",
    },
  },
  {
    name: "blackhole-upstream",
    summary: "the network between proxy and server goes silent both ways, no remedy",
    fault: network("blackhole", "proxy-server"),
    evidence: [upstream(blackholed("none"))],
    expect: { rule: ["hang"], cite: "keepalive.md: nothing notices a silent peer without a remedy" },
  },
  {
    name: "blackhole-upstream+keepalive",
    summary: "the network between proxy and server goes silent, client HTTP/2 keepalive on",
    clientArgs: keepaliveArgs,
    fault: network("blackhole", "proxy-server"),
    evidence: [upstream(blackholed("none")), proxyAnswersPings()],
    expect: { rule: ["hang"], cite: oneHop },
  },
  {
    name: "blackhole-upstream+upstream-timeout",
    proxyDepartures: lostUpstream,
    variant: "upstream-timeout",
    summary: "the network between proxy and server goes silent, the proxy's upstream read timeout set",
    fault: network("blackhole", "proxy-server"),
    evidence: [upstream(blackholed("none"))],
    expect: {
      rule: ["unavailable"],
      cite: "nginx grpc_read_timeout / HAProxy timeout server: silence from the server this long ends the request; http-grpc-status-mapping.md: UNAVAILABLE",
    },
  },
  {
    name: "blackhole-upstream+health-check",
    proxyDepartures: lostUpstream,
    variant: "health-check",
    summary: "the network between proxy and server goes silent, the proxy health-checks the server",
    fault: network("blackhole", "proxy-server"),
    evidence: [upstream(blackholed("none"))],
    expect: {
      rule: ["unavailable"],
      cite: "HAProxy configuration.txt, on-marked-down shutdown-sessions: a server marked down has its sessions closed; http-grpc-status-mapping.md: UNAVAILABLE",
    },
  },
  {
    name: "reset-upstream",
    proxyDepartures: lostUpstream,
    summary: "the network resets the proxy's connection to the server",
    fault: network("reset", "proxy-server"),
    evidence: [upstream(bothLegsReset())],
    expect: {
      rule: ["unavailable"],
      cite: "http-grpc-status-mapping.md: an intermediary that loses the server answers 502/503, read as UNAVAILABLE",
    },
  },
  {
    name: "blackhole-downstream",
    summary: "the network between client and proxy goes silent both ways, no remedy",
    fault: network("blackhole", "client-proxy"),
    evidence: [downstream(blackholed())],
    expect: { rule: ["hang"], cite: "keepalive.md: nothing notices a silent peer without a remedy" },
  },
  {
    name: "blackhole-downstream+keepalive",
    summary: "the network between client and proxy goes silent, client HTTP/2 keepalive on",
    clientArgs: keepaliveArgs,
    fault: network("blackhole", "client-proxy"),
    evidence: [downstream(blackholed())],
    expect: {
      rule: ["unavailable"],
      cite: `${keepaliveRule}: the hop it watches is the one that broke`,
      departures: [connectGoDropped, tonicDropped, grpcioPingTimeout],
    },
  },
  {
    name: "reset-downstream",
    summary: "the network resets the client's connection to the proxy",
    fault: network("reset", "client-proxy"),
    evidence: [downstream(bothLegsReset())],
    expect: {
      rule: ["unavailable"],
      cite: "PROTOCOL-HTTP2.md, Connection failure: a detectable connection failure closes all calls with UNAVAILABLE",
      departures: [connectReset, connectGoDropped, tonicDropped],
    },
  },
];

/** The cases of one proxy: every spec whose variant the proxy has. */
function casesOf(proxy: ProxyStack): LabCase[] {
  return specs
    .filter((spec) => proxy.variants.includes(spec.variant ?? "default"))
    .map(({ name, summary, variant, proxyDepartures, ...spec }) => ({
      ...spec,
      expect: {
        ...spec.expect,
        departures: [...(spec.expect.departures ?? []), ...(proxyDepartures?.[proxy.id] ?? [])],
      },
      id: `${proxy.id}/${name}`,
      group: "proxy",
      summary: `${proxy.id}: ${summary}`,
      proxy: { id: proxy.id, variant: variant ?? "default" },
      // The Connect server behind the proxy: it speaks all three protocols, so every client stack has a column.
      servers: ["connect"],
    }));
}

export const proxyCases: readonly LabCase[] = proxyStacks.flatMap(casesOf);
