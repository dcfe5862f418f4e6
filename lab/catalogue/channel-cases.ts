/**
 * A channel's life (issue 17): applications open one channel at start-up
 * and make calls on it for hours. Each case here is a timeline on one
 * long-lived channel per client stack: idle connections that die, servers
 * that go away and come back, connections the server rotates, several
 * backends behind one name, and retries.
 */
import { blackholed, connectionsReset, processKilled, processStopped, rotated } from "../faults/evidence.ts";
import {
  connectDroppedConnection,
  connectGoDropped,
  connectionFailure,
  deadlineArgs,
  deadlineRule,
  grpcioPingTimeout,
  keepaliveArgs,
  keepaliveRule,
  silentPeer,
  tlsHandshakeHang,
  tonicDeadline,
  tonicDropped,
} from "./case-parts.ts";
import type { ChannelScenario, ChannelStep, Expectation, KnownDeparture, LabCase } from "./case-types.ts";
import type { LabSettings } from "./settings.ts";

const idleBefore = (s: LabSettings) => s.channel.idleBeforeMs;
const idleAfter = (s: LabSettings) => s.channel.idleAfterMs;
const every = (s: LabSettings) => s.channel.everyMs;
const outage = (s: LabSettings) => s.channel.outageMs;
const span = (s: LabSettings) => s.channel.spanMs;

const pingIdleArgs = (s: LabSettings) => [...keepaliveArgs(s), "--ping-idle"];
const waitForReady = (s: LabSettings) => ["--wait-for-ready", ...deadlineArgs(s)];
/** How long calls go on after a restart: the libraries' reconnect backoff (1 s, then 1.6 s, +-20%) must fit. */
const afterRestart = (s: LabSettings) => Math.max(2 * span(s), 3000);
/** Wait-for-ready with a deadline past the outage and the calls after it: the calls may wait the server out. */
const waitThroughOutage = (s: LabSettings) => ["--wait-for-ready", "--timeout-ms", String(outage(s) + afterRestart(s))];
const retryArgs = () => ["--retry", "5"];
/**
 * How long a call under the retry policy may take: its backoffs (lib/client-flags.ts retryPolicy:
 * at most 0.25 + 0.5 + 1 + 2 s), the channel's own reconnect backoff (1 s, +-20%, in grpc-js and
 * gRPC core) and the watchdog.
 */
const retrySettle = (s: LabSettings) => 3750 + 1200 + s.watchdogMs;

/** connect-node PINGs a connection that idled past its interval before it sends a call on it (issue 17). */
const connectVerifiesIdle: KnownDeparture = {
  client: "connect",
  codes: ["ok"],
  why: "connect-node PINGs a connection that has been idle longer than pingIntervalMs before it puts a call on it (Http2SessionManager's verify), finds it dead after pingTimeoutMs and opens a new one: the call succeeds, a PING timeout late (the tap and tshark show the PING, its GOAWAY and the new connection)",
};

/** connect-node reading a reset connection, whatever the retry policy (issue 17). */
const connectResetNotRetried: KnownDeparture = {
  client: "connect",
  codes: ["aborted", "canceled"],
  why: 'connect-node maps ECONNRESET to aborted ("connect ECONNRESET", "read ECONNRESET"), and a connection reset under a stream it has just opened to canceled; neither is unavailable, so a retry policy keyed on unavailable (lib/retry-interceptor.ts, as gRPC\'s) never retries it',
};

/**
 * A client whose keepalive floor (grpc-go and grpc-java: 10 s, issue 27) sends no PING within the
 * channel's idle time: the call goes out on the dead connection, and keepalive ends it 10 s on.
 */
const floorKeepsIdlePingAway = (client: "grpc-go" | "grpc-java"): KnownDeparture => ({
  client,
  codes: ["unavailable"],
  why: `${client} raises a keepalive time under 10 s to 10 s: no PING comes within the channel's idle time (the tap shows none), the call goes out on the dead connection, and keepalive ends it unavailable some 10 s later ("${client === "grpc-go" ? "keepalive ping failed to receive ACK within timeout" : "Keepalive failed. The connection is likely gone"}"): what the case asks of keepalive while idle holds only for an idle time past 10 s`,
});

/** connect-go's net/http transport PINGs every connection it reads nothing from (issue 27). */
const connectGoPingsIdle: KnownDeparture = {
  client: "connect-go",
  codes: ["ok"],
  why: "connect-go's keepalive is x/net/http2's ReadIdleTimeout/PingTimeout, which PINGs any connection it reads nothing from, calls or none (there is no switch for idle connections): it finds the dead connection while the channel idles, and the call goes out on a new one (the tap shows the PING, the close and the new connection)",
};

/**
 * Clients whose keepalive PINGs a new connection before the server's first word (issue 27): the
 * connecting is bounded by the PING timeout, as connect-node's.
 */
const pingsNewConnection = (client: "connect-go" | "tonic"): KnownDeparture => ({
  client,
  codes: ["unavailable"],
  why: `${client === "connect-go" ? "connect-go (x/net/http2's ReadIdleTimeout)" : "tonic (hyper's keepalive while idle)"} PINGs the new connection to the stopped server a PING interval after sending the call, before any SETTINGS came, and closes it when nothing answers (the tap: the call, the PING, no answer, the client's FIN): unavailable "${client === "connect-go" ? "http2: client connection lost" : "http2 error"}", keepalive bounding the connecting too (over h2c)`,
  tls: false,
});

const connectOneAddress = {
  client: "connect",
  why: "connect-node calls one address per transport (createGrpcTransport's baseUrl): it has no list of backends and no load balancing",
};
const connectNoWaitForReady = {
  client: "connect",
  why: "connect-node has no wait-for-ready: a call fails at once when no connection can be made",
};

/** A channel case: group "channel", its scenario, and the usual rest. */
function channelCase(c: Omit<LabCase, "group" | "channel"> & { channel: ChannelScenario }): LabCase {
  return { ...c, group: "channel" };
}

/** A first call that completes, an idle channel, the fault, more idling, then the watched call. */
function idleThen(fault: ChannelStep[], after?: (s: LabSettings) => string[]): ChannelStep[] {
  return [
    { do: "call", label: "first", wait: true },
    { do: "pause", ms: idleBefore },
    ...fault,
    { do: "pause", ms: idleAfter },
    { do: "call", label: "after", wait: true, ...(after && { args: after }) },
  ];
}

const blackholeOpen: ChannelStep[] = [{ do: "network", mode: "blackhole", scope: "existing" }];
const suspendServer: ChannelStep[] = [{ do: "signal", signal: "SIGSTOP" }];
const killServer: ChannelStep[] = [{ do: "signal", signal: "SIGKILL" }];

const idleRemedies = [
  { suffix: "", summary: "no remedy", channelArgs: undefined, callArgs: undefined },
  { suffix: "+keepalive", summary: "keepalive while a call is open", channelArgs: keepaliveArgs, callArgs: undefined },
  {
    suffix: "+keepalive+ping-idle",
    summary: "keepalive also while idle (keepalive_permit_without_calls, pingIdleConnection)",
    channelArgs: pingIdleArgs,
    callArgs: undefined,
  },
  { suffix: "+deadline", summary: "a deadline on the call", channelArgs: undefined, callArgs: deadlineArgs },
] as const;

const pingIdleRule =
  "keepalive.md: with KEEPALIVE_WITHOUT_CALLS a client PINGs an idle connection too, finds it dead, and the channel reconnects before the next call";

function idleCases(
  id: string,
  what: string,
  fault: ChannelStep[],
  evidence: LabCase["evidence"],
  expect: Record<string, Expectation>,
): LabCase[] {
  return idleRemedies.map((r) =>
    channelCase({
      id: `${id}${r.suffix}`,
      summary: `a call completes, the channel idles, ${what}, then a call; ${r.summary}`,
      timing: "the call after the fault, from its start to its end",
      channel: {
        steps: idleThen(fault, r.callArgs),
        watch: "after",
        time: "call",
        openAtFault: true,
        ...(r.channelArgs && { channelArgs: r.channelArgs }),
      },
      evidence,
      expect: expect[r.suffix],
    }),
  );
}

/** The backends scenarios: each fault with each policy, and the remedies that might take a stuck backend out. */
const backendCases: {
  fault: "crash" | "suspend" | "blackhole";
  lb: "pick_first" | "round_robin";
  remedy?: "keepalive" | "health-check";
}[] = [
  ...(["crash", "suspend", "blackhole"] as const).flatMap((fault) =>
    (["pick_first", "round_robin"] as const).map((lb) => ({ fault, lb })),
  ),
  ...(["suspend", "blackhole"] as const).flatMap((fault) =>
    (["pick_first", "round_robin"] as const).map((lb) => ({ fault, lb, remedy: "keepalive" as const })),
  ),
  // Health checking is round_robin's (health-checking.md: pick_first does not use it).
  { fault: "suspend", lb: "round_robin", remedy: "health-check" },
];
const afterKeepalive = (s: LabSettings) => Math.max(span(s), 2500);
const remedyNames = { keepalive: "keepalive", "health-check": "client-side health checking" };

const grpcJsNoHealthCheck: KnownDeparture = {
  client: "grpc-js",
  codes: ["ok+hang"],
  why: "grpc-js reads no healthCheckConfig: it opens no Health/Watch stream (the tap shows none) and keeps sending calls to the suspended backend, as without it",
};

function backendsExpectation(
  fault: "crash" | "suspend" | "blackhole",
  lb: "pick_first" | "round_robin",
  remedy?: "keepalive" | "health-check",
): Expectation {
  if (fault === "crash")
    return {
      rule: ["ok+unavailable"],
      cite: connectionFailure,
      // ok+unavailable: a run whose failed calls were all new connections refused ("tcp connect
      // error"), none under way on the killed backend's (a full matrix, 2026-12-05, against connect-go).
      departures: [{ ...tonicDropped, codes: ["ok+unavailable+unknown", "ok+unknown", "ok+unavailable"] }],
    };
  if (remedy === "keepalive") {
    // Measured with --quick (PINGs every 100 ms, replies 400 ms apart); at the default (250 ms,
    // replies 200 ms apart) data comes between PINGs and no strike is counted.
    const tooManyPings: KnownDeparture = {
      server: "grpcio",
      client: "grpc-js",
      codes: ["ok+unavailable", "ok+resource_exhausted+unavailable", "ok+resource_exhausted"],
      why: "when client PINGs come more often than replies, gRPC core's server enforces its ping policy on the healthy backends too (keepalive.md: a PING sooner than 5 minutes after the last while it sends no data is a strike, 2 allowed): client PINGs more frequent than the replies drew GOAWAY(ENHANCE_YOUR_CALM, \"too_many_pings\") and the streams' resets (the tap shows them); grpc-js fails the calls under way RESOURCE_EXHAUSTED",
    };
    // Issue 27: the clients in other languages.
    const more: KnownDeparture[] = [
      {
        ...tonicDropped,
        codes: [
          "ok+unavailable+unknown",
          "ok+unknown",
          "ok+unavailable",
          "ok+canceled+unavailable+unknown",
          "ok+canceled+unavailable",
        ],
      },
      { ...grpcioPingTimeout, codes: ["ok+hang"] },
      lb === "pick_first"
        ? {
            client: "grpc-java",
            // ok+unavailable: a run whose calls never passed the 16 streams.
            codes: ["ok+unavailable+hang", "ok+unavailable"],
            why: "grpc-java's pick_first sends every call to backend 1; past the servers' 16 concurrent streams (MAX_CONCURRENT_STREAMS) the calls wait in the transport's buffer. When keepalive gives up on the stopped backend (10 s on: its floor), grpc-java resets the streams under way (unavailable \"Keepalive failed. The connection is likely gone\") and then sends the buffered calls' HEADERS on that same dead connection, followed by its GOAWAY (the tap shows all of it): those calls are never answered and never failed. The same with grpc-java alone (docs/repro/java BufferedStreams: 2 streams allowed, 4 calls, the server stopped: calls 1 and 2 unavailable at 13 s, 3 and 4 still waiting at 21 s); no upstream issue found (related: grpc/grpc-java #8252)",
          }
        : {
            client: "grpc-java",
            // 1 run of 3 in a full matrix (2026-12-05, against grpc-java): 22 ok, 16 unavailable,
            // 2 hung of 40. The others, and every run of two full matrices before, ok+unavailable.
            codes: ["ok+unavailable", "ok+unavailable+hang"],
            why: "round_robin sends the stopped backend a third of the calls; when more than its 16 concurrent streams (MAX_CONCURRENT_STREAMS) reach it before keepalive gives up (10 s on: grpc-java's floor), the calls past the 16 wait in the transport's buffer and are never answered nor failed, as under pick_first (docs/repro/java BufferedStreams): the 16 end unavailable \"Keepalive failed. The connection is likely gone\", the rest hang",
          },
    ];
    return {
      rule: ["ok+unavailable"],
      cite: `${keepaliveRule}: the calls under way on the stuck backend end unavailable, and the channel sends no more to a connection it closed${lb === "pick_first" ? "; A61 (pick_first): an address that has not connected within 250 ms gets the next one tried" : ""}`,
      departures: [
        tooManyPings,
        ...more,
        ...(lb === "pick_first"
          ? [
              {
                client: "grpcio",
                release: "1.51.1",
                codes: ["ok+unavailable+hang", "unavailable+hang"],
                why: "gRPC core 1.51.1 predates A61's 250 ms to the next address: after keepalive it reconnects to the first address, the suspended (or silent) backend, and new calls wait for a handshake that never comes until the 20 s connect timeout (connection-backoff.md), then go to the next address (reproduced without the lab: calls made then ended ok 18-21 s later)",
              },
            ]
          : []),
      ],
    };
  }
  if (remedy === "health-check") {
    return {
      rule: ["ok+hang"],
      cite: "health-checking.md: a backend leaves the rotation when its Watch stream says it is not SERVING or fails; a suspended backend's stream does neither, so calls go on reaching it",
      departures: [
        grpcJsNoHealthCheck,
        {
          client: "grpcio",
          server: "connect",
          release: "1.51.1",
          codes: ["crashed"],
          why: "grpcio 1.51.1 (Debian bookworm's python3-grpcio): its health-check client kills the process (SIGSEGV) when a Watch response carries grpc-encoding: gzip, which connect-node sends on every response when the client accepts gzip; a raw HTTP/2 server that sends the header reproduces it, the same without it does not (docs/repro/grpcio-health-check-gzip.py)",
        },
      ],
    };
  }
  return {
    rule: ["ok+hang"],
    cite: `${silentPeer}; the channel keeps sending calls to a backend whose connection it believes alive`,
  };
}

/**
 * gRPC core's health checking cannot read a compressed Watch response, and connect-go's server
 * compresses every message for a client that accepts gzip (issue 27): no backend is ever healthy,
 * so no call works before the fault and the case measures nothing. Reproduced with a raw server and
 * gRPC core alone (docs/repro/grpcio-health-check-gzip.py); no upstream issue found.
 */
const grpcioCompressedHealth = {
  client: "grpcio",
  server: "connect-go",
  why: "gRPC core's client-side health checking cannot read a compressed Watch response (\"INVALID_ARGUMENT: cannot parse health check response\": 1.85.1; 1.51.1 dies of SIGSEGV on a gzip Watch), and connect-go's server compresses every message for a client that accepts gzip: no backend is ever healthy, every call fails unavailable before the fault, and the case has nothing to measure (docs/repro/grpcio-health-check-gzip.py, a raw server and gRPC core alone)",
};

export const channelCases: LabCase[] = [
  ...idleCases(
    "idle-then-blackhole",
    "the network silently drops its connection (new connections still pass, as after a NAT forgets a flow)",
    blackholeOpen,
    // The server may close its end of the silent connection (our servers probe an idle one): that
    // close goes nowhere, as after a real NAT's, which is the point.
    [blackholed("none")],
    {
      "": { rule: ["hang"], cite: silentPeer },
      "+keepalive": {
        rule: ["unavailable"],
        cite: `${keepaliveRule}; keepalive runs while a call is open: the call goes out on the dead connection first`,
        departures: [connectVerifiesIdle, connectGoPingsIdle, grpcioPingTimeout],
      },
      "+keepalive+ping-idle": {
        rule: ["ok"],
        cite: pingIdleRule,
        departures: [floorKeepsIdlePingAway("grpc-go"), floorKeepsIdlePingAway("grpc-java"), grpcioPingTimeout],
      },
      "+deadline": { rule: ["deadline_exceeded"], cite: deadlineRule, departures: [tonicDeadline] },
    },
  ),
  ...idleCases("idle-then-suspend", "the server is suspended (SIGSTOP)", suspendServer, [processStopped()], {
    "": { rule: ["hang"], cite: silentPeer },
    "+keepalive": {
      rule: ["unavailable"],
      cite: keepaliveRule,
      departures: [
        {
          ...tlsHandshakeHang,
          client: "connect",
          why: "over TLS: connect-node PINGs the idle connection before the call (Http2SessionManager's verify), finds it dead and opens a new one, whose ClientHello the stopped server never answers (the tap: the old connection closed by the client, the new one's 300-odd bytes and none back); over h2c it PINGs the new connection before its SETTINGS and gives up. grpc-js and gRPC core put the call on the old connection, where keepalive finds the server gone, over TLS too",
        },
        grpcioPingTimeout,
      ],
    },
    "+keepalive+ping-idle": {
      rule: ["hang"],
      cite: "connection-backoff.md: a new connection gets MIN_CONNECT_TIMEOUT (20 s) to be established; the suspended server's kernel accepts it and nothing answers, and a call waits while the channel connects",
      departures: [
        {
          client: "connect",
          codes: ["unavailable"],
          why: 'connect-node PINGs the new connection before the server has said a word (its SETTINGS never come) and ends the call "PING timed out" when nothing answers: keepalive bounds the connecting too (over h2c: over TLS the session waits for the handshake)',
          tls: false,
        },
        {
          client: "grpcio",
          release: "1.51.1",
          codes: ["unavailable"],
          why: 'gRPC core 1.51.1 with keepalive_permit_without_calls PINGs the new connection before its handshake is done and gives up on it: "failed to connect to all addresses; ... keepalive watchdog timeout" (without that option it never PINGs such a peer: mute-peer+keepalive); 1.85.1 PINGs it too and waits a minute (its PING timeout), as the rule\'s hang',
          tls: false,
        },
        pingsNewConnection("connect-go"),
        pingsNewConnection("tonic"),
        floorKeepsIdlePingAway("grpc-go"),
        floorKeepsIdlePingAway("grpc-java"),
        tlsHandshakeHang,
      ],
    },
    "+deadline": { rule: ["deadline_exceeded"], cite: deadlineRule, departures: [tonicDeadline] },
  }),
  channelCase({
    id: "idle-then-crash",
    summary: "a call completes, the channel idles, the server is killed (SIGKILL), then a call",
    timing: "the call after the fault, from its start to its end",
    channel: { steps: idleThen(killServer), watch: "after", time: "call", openAtFault: true },
    evidence: [processKilled()],
    expect: {
      rule: ["unavailable"],
      cite: "statuscodes.md: UNAVAILABLE when no connection could be established",
    },
  }),
  channelCase({
    id: "idle-then-crash+wait-for-ready",
    summary: "the same, the call with wait-for-ready and a deadline",
    timing: "the call after the fault, from its start to its end",
    channel: {
      steps: idleThen(killServer, waitForReady),
      watch: "after",
      time: "call",
      openAtFault: true,
      notFor: [connectNoWaitForReady],
    },
    evidence: [processKilled()],
    expect: {
      rule: ["deadline_exceeded"],
      cite: "wait-for-ready.md: a call with wait-for-ready waits through TRANSIENT_FAILURE until its deadline",
    },
  }),
  ...(["", "+wait-for-ready"] as const).map((variant) =>
    channelCase({
      id: `restart-through${variant}`,
      summary: `a call every ${"`everyMs`"} ms while the server is killed and, after an outage, back on its port${variant ? "; calls with wait-for-ready and a deadline" : ""}`,
      timing:
        "recovery: from the new server listening to the first message of the first call from which on every call ended ok",
      channel: {
        steps: [
          { do: "call", label: "first", wait: true },
          ...killServer,
          // The calls begin once the client has taken the close in (see outage-call).
          { do: "client-saw-close" },
          { do: "calls", label: "through", everyMs: every, forMs: outage, ...(variant && { args: waitThroughOutage }) },
          { do: "restart" },
          {
            do: "calls",
            label: "through",
            everyMs: every,
            // At least 3 s: grpc-js and gRPC core try to reconnect after 1 s, then 1.6 s more (+-20%)
            // (connection-backoff.md), whatever the lab's timings.
            forMs: afterRestart,
            ...(variant && { args: waitThroughOutage }),
          },
          { do: "settle" },
        ],
        watch: "through",
        time: "recovery",
        ...(variant && { notFor: [connectNoWaitForReady] }),
      },
      // The fault is the kill; whether the channel came back within the window is the outcome.
      evidence: [processKilled()],
      expect: variant
        ? {
            rule: ["ok", "ok+deadline_exceeded"],
            cite: "wait-for-ready.md: calls made while the channel is in TRANSIENT_FAILURE wait for it to be ready, within their deadline; the channel comes back only at its next reconnect attempt (connection-backoff.md: 1 s, then 1.6x, +-20%), which may come after an early call's deadline",
          }
        : {
            rule: ["ok+unavailable"],
            cite: "connectivity-semantics-and-api.md: calls fail at once while the channel is in TRANSIENT_FAILURE, and go through once it is READY again",
          },
    }),
  ),
  ...(["", "+retry"] as const).map((variant) =>
    channelCase({
      id: `connection-age${variant}`,
      summary: `the server rotates connections (max connection age 300 ms, grace 1 s) while streams of 450 ms start every ${"`everyMs`"} ms${variant ? "; a retry policy (5 attempts)" : ""}`,
      timing: "none: the codes of the calls tell",
      channel: {
        serverArgs: () => [
          "--count",
          "4",
          "--interval-ms",
          "150",
          "--max-connection-age-ms",
          "300",
          "--max-connection-age-grace-ms",
          "1000",
        ],
        ...(variant && { channelArgs: retryArgs }),
        // Both variants settle as long as a retried call may take, so that they share their servers.
        steps: [
          { do: "calls", label: "through", everyMs: every, forMs: span },
          { do: "settle", ms: retrySettle },
        ],
        watch: "through",
        time: "none",
      },
      evidence: [rotated()],
      expect: {
        rule: ["ok"],
        cite: "A9 (max connection age): the server sends GOAWAY, in-flight streams finish within the grace, and new calls go to a new connection; A6: a call the server never took (REFUSED_STREAM, above the GOAWAY's last stream) is retried transparently",
        departures: [
          {
            client: "connect",
            server: "connect",
            codes: ["ok+internal", "ok"],
            why: 'a call that crosses the GOAWAY is refused (RST_STREAM(REFUSED_STREAM): Node\'s server sends one GOAWAY, and nghttp2 ignores every new stream once it has: lib/connection-age.ts; a race: some runs no call crosses it); connect-node neither retries it nor maps REFUSED_STREAM to unavailable: internal "Stream closed with error code NGHTTP2_REFUSED_STREAM", and its retry interceptor, keyed on unavailable, lets it through',
          },
          {
            client: "connect",
            server: "grpc-js",
            codes: ["ok+internal", "ok"],
            why: "grpc-js's server sends its two GOAWAYs in one write, with no PING between (tshark shows both in one segment): a call that crosses them is refused, and connect-node reads REFUSED_STREAM as internal",
          },
          {
            client: "connect",
            server: "grpcio",
            codes: ["ok", "ok+internal"],
            why: "gRPC core sends GOAWAY(2^31-1) and a PING, and the real GOAWAY once the PING is answered (tshark): nearly no call crosses it, but one sent in the same moment is refused, and connect-node reads REFUSED_STREAM as internal",
          },
          {
            client: "connect",
            server: "grpc-go",
            codes: ["ok", "ok+internal"],
            why: "grpc-go drains as gRPC core does (the tap: GOAWAY(2^31-1) and a PING, the real GOAWAY once the PING is answered): a call made between the two goes on the draining connection and Node's HTTP/2 refuses it there (REFUSED_STREAM, never sent: no stream for it on the wire), and connect-node reads it as internal (1 run of 3 in a --full run, 2026-12-05: 14 ok, 1 internal of 15 calls)",
          },
          {
            client: "tonic",
            codes: ["ok+canceled", "ok+canceled+internal", "ok"],
            why: 'tonic puts a call made after the server\'s GOAWAY on the connection that GOAWAY closes, and ends it canceled "operation was canceled" instead of opening a new connection for it (the same with tonic alone: docs/repro/rust tonic-connection-age, the call opened after the age without a grace); and against the grpc-js server, which sends its two GOAWAYs at once, a call that crosses them ends internal "h2 protocol error: http2 error"',
          },
          ...(["grpc-js", "grpcio"] as const).flatMap((client): KnownDeparture[] => [
            {
              client,
              server: "grpc-js",
              codes: ["ok", "ok+unavailable"],
              why: 'grpc-js\'s server sends its two GOAWAYs at once (no PING between): a call that crosses them is refused, and without a retry policy it ends unavailable (grpc-js: "Stream refused by server"); with one, every call ended ok',
            },
            {
              client,
              server: "connect",
              codes: ["ok", "ok+unavailable"],
              why: 'Node\'s server sends one GOAWAY, and nghttp2 ignores every new stream once it has: a call that crosses it is refused, and without a retry policy it ends unavailable (grpc-js: "Stream refused by server"); with one, every call ended ok',
            },
          ]),
        ],
      },
    }),
  ),
  ...backendCases.map(({ fault, lb, remedy }) =>
    channelCase({
      id: `backends-${fault}${remedy ? `+${remedy}` : ""}${lb === "round_robin" ? "+round-robin" : ""}`,
      summary: `three backends behind one target (${lb}${remedy ? `, ${remedyNames[remedy]}` : ""}); calls every ${"`everyMs`"} ms; backend 1 ${
        fault === "crash"
          ? "is killed"
          : fault === "suspend"
            ? "is suspended"
            : "goes silent (its relay: every connection)"
      }`,
      timing: "recovery: from the fault to the first message of the first call from which on every call ended ok",
      channel: {
        backends: 3,
        // Streams four call-spacings long: every backend has calls under way when the fault comes.
        serverArgs: (s) => ["--count", "3", "--interval-ms", String(2 * every(s))],
        channelArgs: (s) => [
          ...(lb === "round_robin" ? ["--lb-policy", "round_robin"] : []),
          ...(remedy === "keepalive" ? keepaliveArgs(s) : remedy === "health-check" ? ["--health-check"] : []),
        ],
        steps: [
          { do: "calls", label: "through", everyMs: every, forMs: span },
          fault === "crash"
            ? { do: "signal", signal: "SIGKILL", backend: 0 }
            : fault === "suspend"
              ? { do: "signal", signal: "SIGSTOP", backend: 0 }
              : { do: "network", mode: "blackhole", scope: "all", backend: 0 },
          // With keepalive, long enough to see the channel after it: gRPC core keeps its PINGs ~1 s
          // apart (the process group), so its keepalive takes ~1.25 s.
          { do: "calls", label: "through", everyMs: every, forMs: remedy === "keepalive" ? afterKeepalive : span },
          { do: "settle" },
        ],
        watch: "through",
        time: "recovery",
        notFor: [connectOneAddress, ...(remedy === "health-check" ? [grpcioCompressedHealth] : [])],
      },
      // A blackholed backend's server may close its end of the silent connection (our servers
      // probe an idle one): that close goes nowhere, as across a real partition.
      evidence: [fault === "crash" ? processKilled() : fault === "suspend" ? processStopped() : blackholed("none")],
      // gRPC core's health checking crashes its process against one server (below): that crash
      // must take only this scene's channels.
      ...(remedy === "health-check" && { ownProcess: ["grpcio"] }),
      expect: backendsExpectation(fault, lb, remedy),
    }),
  ),
  ...(["", "+retry"] as const).map((variant) =>
    channelCase({
      id: `outage-call${variant}`,
      summary: `a call made while the server is down, back ${"`outageMs`"} ms later${variant ? "; a retry policy (5 attempts, pauses of up to 0.25, 0.5, 1 and 2 s)" : ""}`,
      timing: "the call made during the outage, from its start to its end",
      channel: {
        ...(variant && { channelArgs: retryArgs }),
        steps: [
          { do: "call", label: "first", wait: true },
          ...killServer,
          // The client has taken in its connection's close: a call made before it has (a busy
          // client) goes on the closing connection (connect-node then reads canceled).
          { do: "client-saw-close" },
          { do: "call", label: "during" },
          // Half the usual outage: within what the retry policy's backoffs can wait out.
          { do: "pause", ms: (s) => outage(s) / 2 },
          { do: "restart" },
          { do: "settle", ms: retrySettle },
        ],
        watch: "during",
        time: "call",
      },
      evidence: [processKilled()],
      expect: variant
        ? {
            rule: ["ok", "unavailable"],
            cite: "A6 (retries): a call that failed UNAVAILABLE before any response is tried again after a random part of each backoff; ok when an attempt comes after the server is back, unavailable when every attempt came within the outage",
          }
        : { rule: ["unavailable"], cite: "statuscodes.md: UNAVAILABLE when no connection could be established" },
    }),
  ),
  ...(["", "+retry"] as const).map((variant) =>
    channelCase({
      id: `reset-call${variant}`,
      summary: `the network resets every connection, new ones too, for ${"`outageMs`"} ms, a call made at its start${variant ? "; a retry policy" : ""}`,
      timing: "the call made during the resets, from its start to its end",
      channel: {
        ...(variant && { channelArgs: retryArgs }),
        steps: [
          { do: "call", label: "first", wait: true },
          { do: "network", mode: "reset", scope: "all" },
          { do: "call", label: "during" },
          { do: "pause", ms: outage },
          { do: "network", mode: "forward", scope: "all" },
          { do: "settle", ms: retrySettle },
        ],
        watch: "during",
        time: "call",
      },
      evidence: [connectionsReset()],
      expect: variant
        ? {
            rule: ["ok", "unavailable"],
            cite: "A6 (retries): a call that failed UNAVAILABLE before any response is tried again after a random part of each backoff; ok when an attempt comes after the resets end, unavailable when every attempt came within them (measured: grpc-java 8 runs in 21)",
            departures: [
              connectResetNotRetried,
              connectGoDropped,
              // 1 run in 21 of a full matrix (against grpc-java): canceled "operation was canceled",
              // as its call made the moment a connection failed (suspend+keepalive+call-again).
              {
                ...tonicDropped,
                codes: ["unknown", "canceled"],
                why: `${tonicDropped.why}; tonic has no retry policy, and a call made as a reset connection is torn down may read canceled "operation was canceled"`,
              },
            ],
          }
        : {
            rule: ["unavailable"],
            cite: connectionFailure,
            departures: [
              connectResetNotRetried,
              connectGoDropped,
              // canceled: 3 runs in 6 of a full matrix (2026-12-05, against grpc-go and grpc-java),
              // as in the retry variant above: hyper cancels a request its torn-down connection never
              // sent, and tonic's status.rs (from_hyper_error) maps is_canceled() to CANCELLED.
              {
                ...tonicDropped,
                codes: ["unknown", "unavailable", "canceled"],
                why: `${tonicDropped.why}; a call made as a reset connection is torn down may read canceled "operation was canceled" (hyper's canceled request, which tonic's status.rs maps to CANCELLED). tonic alone, a call 0-2 ms after its connection's reset: 3 canceled, 20 unavailable "tcp connect error" and 157 unknown "transport error" in 180 (docs/repro/rust tonic-reset-canceled); no tonic issue found (a downstream SDK retries CANCELLED for it: s2-streamstore/s2-sdk-rust #149)`,
              },
            ],
          },
    }),
  ),
  ...(["", "+retry"] as const).map((variant) =>
    channelCase({
      id: `crash-in-call${variant}`,
      summary: `the server is killed while a call is under way, after its first message${variant ? "; a retry policy" : ""}`,
      timing: "from the server's end (its exit) to the call's",
      channel: {
        ...(variant && { channelArgs: retryArgs }),
        // Messages a second apart: the kill comes between message 1 and 2, however slow the machine.
        serverArgs: () => ["--count", "3", "--interval-ms", "1000"],
        underWayAtFault: true,
        steps: [{ do: "call", label: "during", wait: "message" }, ...killServer, { do: "settle", ms: retrySettle }],
        watch: "during",
        time: "fault",
      },
      evidence: [processKilled()],
      expect: {
        rule: ["unavailable"],
        cite: `${connectionFailure}; A6: a call that has received a response is committed and not retried`,
        departures: [
          {
            ...connectDroppedConnection,
            codes: ["canceled", "aborted"],
            why: `${connectDroppedConnection.why} (a reset when the killed server had unread bytes: aborted, as in crash)`,
          },
          connectGoDropped,
          tonicDropped,
        ],
      },
    }),
  ),
];
