/**
 * The knob group (issue 18): what one library option does. Each knob takes a
 * case of the catalogue, runs it with the `defaults` profile (every library
 * as shipped) and one option set, once per value, on the stacks that option
 * belongs to: which outcome each value produces. A new knob is one entry in
 * `knobs`.
 */
import { grpcioPingTimeout, grpcJavaWritesQueue, tooManyPings } from "./case-parts.ts";
import type { Expectation, KnownDeparture, LabCase } from "./case-types.ts";
import { channelCases } from "./channel-cases.ts";
import { handlerCases } from "./handler-cases.ts";
import { http2Cases } from "./http2-cases.ts";
import { optionSection } from "./library-options.ts";
import { processCases } from "./process-cases.ts";
import type { OptionValue } from "./profiles.ts";
import { serverViewCases } from "./server-cases.ts";

interface KnobValue {
  value: OptionValue;
  /** What this value makes of the case where it departs from the case's rule (measured). */
  departures?: KnownDeparture[];
}

interface Knob {
  /** The case it varies. */
  base: string;
  /** The profile section (library-options.ts) and the option in it. */
  section: string;
  option: string;
  values: KnobValue[];
  /** Options of the same section set with it, whatever its value (a max connection age with its grace). */
  also?: Record<string, number | boolean>;
  /** The servers it runs against, where not every one of the base case's. */
  servers?: string[];
  /** One line: what it shows. */
  shows: string;
}

/** The clients a gRPC server's ping policy as shipped cuts off on a silent stream (keepalive.md), from case-parts.ts. */
const cutOff = (server: string, clients?: readonly string[]) =>
  tooManyPings(server).filter((d) => clients === undefined || clients.includes(d.client ?? ""));

/**
 * A max connection age with a grace (issue 27): the one setting every gRPC server has that ends a
 * stream whose client stopped reading. The age as the knob's companion, the grace its values: one
 * long (an hour: what a server that must let long streams finish sets) and one short.
 */
const ageGrace = (section: string, age: string, grace: string): Knob => ({
  base: "client-stops-reading",
  section,
  option: grace,
  // Short enough that grpc-go's close (measured: a second after age and grace, its writer stuck
  // behind the shut window) comes within the watchdog.
  also: { [age]: 150 },
  servers: [section.replace(/-server$/, "")],
  shows:
    "a max connection age (150 ms) sends GOAWAY, which a client that stopped reading does not act on; its grace then closes the connection, and with it the stream that would hang: the one server setting that ends it, at the price of ending every stream older than age and grace",
  values: [
    { value: 3_600_000, departures: section === "grpc-java-server" ? [grpcJavaWritesQueue] : [] },
    {
      value: 150,
      departures: [
        {
          codes: ["canceled"],
          why: "the grace closed the connection under the stuck stream, and the handler ended canceled (the tap: GOAWAY at the age, the server's close at age and grace; grpc-go's a second later, its writer stuck behind the shut window)",
        },
        ...(section === "grpc-java-server" ? [grpcJavaWritesQueue] : []),
      ],
    },
  ],
});

const knobs: readonly Knob[] = [
  {
    base: "mute-peer+keepalive",
    section: "grpcio",
    option: "grpc.keepalive_permit_without_calls",
    shows:
      "gRPC core PINGs a connection whose handshake never finished only when keepalive may run without calls (and 1.85.1 then waits out its PING timeout, the next knob)",
    values: [
      {
        value: 0,
        departures: [
          {
            codes: ["hang"],
            why: "gRPC core starts keepalive with the first call on a ready connection: the peer never finished the handshake",
          },
        ],
      },
      { value: 1, departures: [grpcioPingTimeout] },
    ],
  },
  {
    base: "suspend+keepalive",
    section: "grpcio",
    option: "grpc.http2.ping_timeout_ms",
    // The lab profile's PING pacing, without which gRPC core as shipped PINGs a silent stream twice.
    also: { "grpc.http2.min_time_between_pings_ms": 250, "grpc.http2.max_pings_without_data": 0 },
    shows:
      "gRPC core 1.85.1 gives up on an unanswered PING after grpc.http2.ping_timeout_ms (1 minute once keepalive is on), not after keepalive_timeout_ms: set it too",
    values: [{ value: 60_000, departures: [grpcioPingTimeout] }, { value: 250 }],
  },
  {
    base: "mute-peer+keepalive",
    section: "grpc-js",
    option: "grpc.keepalive_permit_without_calls",
    shows: "grpc-js does not PING a peer that never sent its SETTINGS, whatever the option says (grpc-node #2785)",
    values: [0, 1].map((value) => ({
      value,
      departures: [
        {
          codes: ["hang"],
          why: "grpc-js starts keepalive only once the peer's SETTINGS arrived (grpc-node #2785), and the mute peer sends none",
        },
      ],
    })),
  },
  {
    base: "mute-peer+keepalive",
    section: "connect-node",
    option: "pingIdleConnection",
    shows: "connect-node PINGs a connection whose handshake never finished either way",
    values: [{ value: false }, { value: true }],
  },
  {
    base: "stall+keepalive",
    section: "grpcio-server",
    option: "grpc.http2.min_ping_interval_without_data_ms",
    servers: ["grpcio"],
    shows:
      "a gRPC core server as shipped cuts off clients that PING a silent stream; allowing their interval keeps the stream (and the stall) alive",
    values: [
      // gRPC core's own client sends 2 PINGs on a silent stream and no more (the next knob): no strike.
      // gRPC core's own client PINGs a silent stream twice and stops (the next knob but one): no strike.
      { value: 300_000, departures: cutOff("grpcio", ["grpc-js", "connect", "connect-go", "tonic"]) },
      { value: 50 },
    ],
  },
  {
    base: "stall+keepalive",
    section: "grpcio-server",
    option: "grpc.http2.max_ping_strikes",
    servers: ["grpcio"],
    shows: "max_ping_strikes 0 turns gRPC core's ping policy off",
    values: [{ value: 2, departures: cutOff("grpcio", ["grpc-js", "connect", "connect-go", "tonic"]) }, { value: 0 }],
  },
  {
    base: "stall+keepalive",
    section: "grpcio",
    option: "grpc.http2.max_pings_without_data",
    servers: ["grpcio"],
    shows:
      "gRPC core's client PINGs a silent stream twice and stops, and lifting that limit alone changes nothing: min_time_between_pings_ms (5 min) still keeps its PINGs apart, and the stall goes unnoticed either way",
    values: [{ value: 2 }, { value: 0 }],
  },
  ...(["connect-node", "grpc-js", "grpcio"] as const).map(
    (section): Knob => ({
      base: "idle-then-blackhole",
      section,
      option: section === "connect-node" ? "idleConnectionTimeoutMs" : "grpc.client_idle_timeout_ms",
      servers: ["connect"],
      shows:
        section === "grpc-js"
          ? "grpc-js's idle timeout sends the channel IDLE but keeps its connection until its subchannel pool's next sweep (every 10 s): the next call reuses the forgotten connection"
          : "an idle timeout shorter than the channel's idle time closes the forgotten connection before the next call",
      values: [
        { value: section === "connect-node" ? 900_000 : 1_800_000 },
        // grpc-js takes no idle timeout under 1 s (MIN_IDLE_TIMEOUT_MS): the channel idles ~1.5 s.
        {
          value: 1000,
          departures:
            section === "grpc-js"
              ? []
              : [
                  {
                    codes: ["ok"],
                    why: "the idle timeout closed the connection the network forgot; the next call opened a new one (the tap shows it)",
                  },
                ],
        },
      ],
    }),
  ),
  ...(["grpc-js", "grpcio"] as const).map(
    (section): Knob => ({
      base: "restart-through",
      section,
      option: "grpc.initial_reconnect_backoff_ms",
      servers: ["connect"],
      shows: "the reconnect backoff sets how soon calls succeed once a restarted server is back",
      values: [{ value: 1000 }, { value: 100 }],
    }),
  ),
  // Issue 27: the ping policy of grpc-go's and grpc-java's servers, as gRPC core's above.
  {
    base: "stall+keepalive",
    section: "grpc-go-server",
    option: "keepalive.EnforcementPolicy.MinTime",
    servers: ["grpc-go"],
    shows:
      "grpc-go's server as shipped cuts off clients that PING a silent stream; allowing their interval keeps the stream alive",
    values: [{ value: 300_000, departures: cutOff("grpc-go") }, { value: 50 }],
  },
  {
    base: "stall+keepalive",
    section: "grpc-java-server",
    option: "NettyServerBuilder.permitKeepAliveTime",
    servers: ["grpc-java"],
    shows:
      "grpc-java's server as shipped cuts off clients that PING a silent stream; allowing their interval keeps the stream alive",
    values: [{ value: 300_000, departures: cutOff("grpc-java") }, { value: 50 }],
  },
  // Issue 27: a max connection age with a grace on every gRPC server, for a client that stopped reading.
  ageGrace("grpc-js-server", "grpc.max_connection_age_ms", "grpc.max_connection_age_grace_ms"),
  ageGrace("grpcio-server", "grpc.max_connection_age_ms", "grpc.max_connection_age_grace_ms"),
  ageGrace(
    "grpc-go-server",
    "keepalive.ServerParameters.MaxConnectionAge",
    "keepalive.ServerParameters.MaxConnectionAgeGrace",
  ),
  ageGrace("grpc-java-server", "NettyServerBuilder.maxConnectionAge", "NettyServerBuilder.maxConnectionAgeGrace"),
  ageGrace("tonic-server", "Server::max_connection_age", "Server::max_connection_age_grace"),
  // Issue 27: the idle timeouts of the clients in other languages, as connect-node's and gRPC's above.
  ...(
    [
      ["connect-go", "http.Transport.IdleConnTimeout", 90_000],
      ["grpc-go", "grpc.WithIdleTimeout", 1_800_000],
      ["grpc-java", "NettyChannelBuilder.idleTimeout", 1_800_000],
    ] as const
  ).map(
    ([section, option, shipped]): Knob => ({
      base: "idle-then-blackhole",
      section,
      option,
      servers: ["connect"],
      shows:
        "an idle timeout shorter than the channel's idle time closes the forgotten connection before the next call",
      values: [
        { value: shipped },
        {
          value: 1000,
          departures: [
            {
              codes: ["ok"],
              why: "the idle timeout closed the connection the network forgot; the next call opened a new one (the tap shows it)",
            },
          ],
        },
      ],
    }),
  ),
  {
    base: "idle-then-blackhole+keepalive",
    section: "tonic",
    option: "Endpoint::keep_alive_while_idle",
    servers: ["connect"],
    shows:
      "tonic PINGs an idle connection only with keep_alive_while_idle, and finds the forgotten connection before the next call",
    values: [
      { value: false },
      {
        value: true,
        departures: [
          {
            codes: ["ok"],
            why: "tonic PINGed the idle connection, found it dead and opened a new one for the call (the tap shows it)",
          },
        ],
      },
    ],
  },
];

const bases: readonly LabCase[] = [
  ...processCases,
  ...handlerCases,
  ...http2Cases,
  ...channelCases,
  ...serverViewCases,
];

/** A knob's cases, one per value; a client option's run on that client only, a server option's on that server. */
function knobCases(knob: Knob): LabCase[] {
  const base = bases.find((c) => c.id === knob.base);
  const section = optionSection(knob.section);
  if (!base || !section) throw new Error(`knob-cases.ts: no case "${knob.base}" or section "${knob.section}"`);
  return knob.values.map(({ value, departures }): LabCase => {
    // The base's TLS departures (issue 19) hold whatever the knob: the knob's own are measured over h2c.
    const overTls = (base.expect.departures ?? []).filter((d) => d.tls === true);
    const expect: Expectation = {
      rule: base.expect.rule,
      cite: base.expect.cite,
      departures: [...(departures ?? []), ...overTls],
    };
    return {
      ...base,
      // The section too: grpc-js and gRPC core share option names.
      id: `${base.id}@${knob.section}:${knob.option}=${JSON.stringify(value)}`,
      group: "knob",
      summary: `${base.summary}; defaults, and ${section.library} ${knob.option} = ${JSON.stringify(value)}: ${knob.shows}`,
      knob: { section: knob.section, option: knob.option, value, ...(knob.also && { also: knob.also }) },
      ...(section.role === "client" ? { clients: [section.stack] } : {}),
      ...(knob.servers ? { servers: knob.servers } : {}),
      expect,
    };
  });
}

export const knobCasesAll: readonly LabCase[] = knobs.flatMap(knobCases);
