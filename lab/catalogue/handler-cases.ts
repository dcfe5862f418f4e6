/**
 * A stalled handler in a live server: the process and its HTTP/2 stack answer, the stream says nothing.
 */
import { stalledButAlive } from "../faults/evidence.ts";
import {
  deadlineArgs,
  deadlineRule,
  idleTimeoutArgs,
  idleTimeoutRule,
  keepaliveArgs,
  silentPeer,
  stall,
  stallArgs,
  tonicDeadline,
  tooManyPings,
} from "./case-parts.ts";
import type { LabCase } from "./case-types.ts";

export const handlerCases: LabCase[] = [
  {
    id: "stall",
    group: "handler",
    summary: "the handler stops sending after message 1; the process and its HTTP/2 stack stay alive",
    serverArgs: stallArgs,
    fault: stall,
    timing: "from message 1 (when the handler went silent) to the client's result",
    evidence: [stalledButAlive({ pings: "if-any" })],
    noSetting: [
      {
        server: "tonic",
        client: "tonic",
        why: "tonic's deadline bounds only the wait for the response's headers, on the client (Endpoint::timeout, Request::set_timeout) and on the server (its grpc-timeout layer) alike (stall+deadline); an idle timeout in the application ends it (stall+idle-timeout)",
      },
    ],
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
          why: "gRPC core's server enforces its ping policy (keepalive.md: more than one PING per 5 minutes while it sends no data is a strike, 2 strikes allowed): the client's fourth PING drew GOAWAY(ENHANCE_YOUR_CALM, \"too_many_pings\") and the stream's reset (the tap shows both); connect-node reads the session error \"Session closed with error code 11\" as internal. A server that allows the clients' interval (min_ping_interval_without_data_ms, or max_ping_strikes 0) lets them be: the knob group",
        },
        {
          server: "grpcio",
          client: "grpc-js",
          codes: ["resource_exhausted"],
          why: "gRPC core's server enforces its ping policy: GOAWAY(ENHANCE_YOUR_CALM, \"too_many_pings\") after the client's fourth PING (the tap shows it); grpc-js maps ENHANCE_YOUR_CALM to RESOURCE_EXHAUSTED",
        },
        // Issue 27: the clients in other languages on gRPC core's server, and grpc-go's and
        // grpc-java's servers, which enforce the same policy as shipped.
        ...tooManyPings("grpcio").filter((d) =>
          ["connect-go", "grpc-go", "grpc-java", "tonic"].includes(d.client ?? ""),
        ),
        ...tooManyPings("grpc-go"),
        ...tooManyPings("grpc-java"),
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
    expect: {
      rule: ["deadline_exceeded"],
      cite: deadlineRule,
      departures: [
        tonicDeadline,
        // 1 run in 6 of two full matrices (2026-12-05); the tap shows the server's RST_STREAM(CANCEL)
        // at 800 ms, before the client's own.
        {
          server: "grpc-go",
          client: "grpcio",
          codes: ["deadline_exceeded", "canceled"],
          why: 'grpc-go enforces the deadline the client sent (grpc-timeout) on its own clock and resets the stream, RST_STREAM(CANCEL); when that reset reaches gRPC core 1.85.1 before its own deadline timer fires, the call ends canceled "Stream removed (RST_STREAM (Received RST_STREAM with error code 8))", where grpc-go\'s client checks its deadline first (grpc/grpc-go #2211). grpcio alone against grpc-go alone, a handler that waits out the deadline: 31 canceled in 100 calls (docs/repro/grpcio-deadline-vs-grpc-go.py). Known upstream: grpc/grpc #2685 (deadline exceeded is best effort), grpc/grpc #27216 (clients encouraged to check the deadline on CANCELLED)',
        },
        // 1 run in 3 of a full matrix (2026-12-05, the first in six): the tap shows grpc-go's
        // RST_STREAM(CANCEL) at 799.1 ms, the client's end at 800.
        {
          server: "grpc-go",
          client: "grpc-js",
          codes: ["deadline_exceeded", "canceled"],
          why: 'the same race with grpc-js 1.14.7: a RST_STREAM(CANCEL) that comes before its own deadline timer fires ends the call canceled "Call cancelled" (its subchannel call maps NGHTTP2_CANCEL to CANCELLED and does not look at the deadline). grpc-js alone against grpc-go alone, a handler that waits out the deadline: 28 and 24 canceled in two runs of 100 calls (docs/repro/grpc-js-deadline-vs-grpc-go.mts). No grpc-node issue found; the client-side check is grpc/grpc-go #2211, the advice grpc/grpc #27216',
        },
      ],
    },
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
];
