/**
 * The knob group (issue 18): what one library option does. Each knob takes a
 * case of the catalogue, runs it with the `defaults` profile (every library
 * as shipped) and one option set, once per value, on the stacks that option
 * belongs to: which outcome each value produces. A new knob is one entry in
 * `knobs`.
 */
import type { Expectation, KnownDeparture, LabCase } from "./case-types.ts";
import { channelCases } from "./channel-cases.ts";
import { handlerCases } from "./handler-cases.ts";
import { http2Cases } from "./http2-cases.ts";
import { optionSection } from "./library-options.ts";
import type { OptionValue } from "./profiles.ts";

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
  /** The servers it runs against, where not every one of the base case's. */
  servers?: string[];
  /** One line: what it shows. */
  shows: string;
}

/** The grpcio server's ping policy as gRPC core ships it cuts off a client that PINGs a silent stream (keepalive.md). */
const tooManyPings = (client: "grpc-js" | "connect"): KnownDeparture => {
  const codes = { "grpc-js": ["resource_exhausted"], connect: ["internal"] };
  return {
    client,
    codes: codes[client],
    why: 'gRPC core\'s server counts each client PING sooner than min_ping_interval_without_data_ms after the last, while it sends no data, as a strike: past max_ping_strikes it sends GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and resets the stream',
  };
};

const knobs: readonly Knob[] = [
  {
    base: "mute-peer+keepalive",
    section: "grpcio",
    option: "grpc.keepalive_permit_without_calls",
    shows: "gRPC core PINGs a connection whose handshake never finished only when keepalive may run without calls",
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
      { value: 1 },
    ],
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
      { value: 300_000, departures: [tooManyPings("grpc-js"), tooManyPings("connect")] },
      { value: 50 },
    ],
  },
  {
    base: "stall+keepalive",
    section: "grpcio-server",
    option: "grpc.http2.max_ping_strikes",
    servers: ["grpcio"],
    shows: "max_ping_strikes 0 turns gRPC core's ping policy off",
    values: [{ value: 2, departures: [tooManyPings("grpc-js"), tooManyPings("connect")] }, { value: 0 }],
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
];

const bases: readonly LabCase[] = [...handlerCases, ...http2Cases, ...channelCases];

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
      knob: { section: knob.section, option: knob.option, value },
      ...(section.role === "client" ? { clients: [section.stack] } : {}),
      ...(knob.servers ? { servers: knob.servers } : {}),
      expect,
    };
  });
}

export const knobCasesAll: readonly LabCase[] = knobs.flatMap(knobCases);
