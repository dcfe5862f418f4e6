/**
 * The options that change liveness, per stack, with each library's default
 * and where it is documented (issue 18). A profile (profiles.ts) sets some
 * of them, one section per stack, each key the library's own option name;
 * the lab passes a section to its program (`--options JSON`, or the
 * connect server's flags), which hands it to the library as is.
 */

/** How a value is written: ms and counts are integers, flags 0/1 (gRPC) or booleans (connect-node), JSON an object. */
export type OptionKind = "ms" | "count" | "flag" | "boolean" | "json" | "seconds";

export interface LibraryOption {
  /** The library's own name for it. */
  name: string;
  kind: OptionKind;
  /** The library's default, as its docs or source state it. */
  default: string;
  /** What it does to liveness, in a line. */
  what: string;
  /** Where it is documented. */
  doc: string;
  /** How the lab passes it: in the program's `--options` JSON (default), or as the program's own flag of that name. */
  via?: "options" | "flag";
  /** For `via: "flag"`: the program's flag, where its name is not the option's, and what the value is multiplied by for it. */
  flag?: { name: string; scale: number };
}

/** A stack as a profile names it: its section, which lab stacks it applies to, its options. */
export interface OptionSection {
  /** The profile's key for this stack. */
  id: string;
  role: "client" | "server";
  /** The lab's stack ids it applies to: a client's `client` name or a server's id. */
  stack: string;
  library: string;
  options: readonly LibraryOption[];
}

const grpcKeepalive = "gRPC core doc/keepalive.md";
const grpcJsOptions = "grpc-js channel-options.ts and README (supported channel options)";
const serviceConfig =
  "gRPC doc/service_config.md; methodConfig timeout, waitForReady and retryPolicy (gRFC A6), as a JSON object";

const grpcClientCommon = (doc: string): LibraryOption[] => [
  {
    name: "grpc.keepalive_time_ms",
    kind: "ms",
    default: "off (INT_MAX)",
    what: "PING the server after this long without a PING; an unanswered one fails the calls UNAVAILABLE",
    doc: grpcKeepalive,
  },
  {
    name: "grpc.keepalive_timeout_ms",
    kind: "ms",
    default: "20000",
    what: "how long a keepalive PING may go unanswered",
    doc: grpcKeepalive,
  },
  {
    name: "grpc.keepalive_permit_without_calls",
    kind: "flag",
    default: "0",
    what: "1: keepalive PINGs also while no call is open (an idle connection is watched too)",
    doc: `${grpcKeepalive}; grpc-node PR #1612`,
  },
  {
    name: "grpc.initial_reconnect_backoff_ms",
    kind: "ms",
    default: "1000",
    what: "the first pause before a lost connection is tried again",
    doc: `gRPC doc/connection-backoff.md; ${doc}`,
  },
  {
    name: "grpc.max_reconnect_backoff_ms",
    kind: "ms",
    default: "120000",
    what: "the longest pause between two connection attempts",
    doc: `gRPC doc/connection-backoff.md; ${doc}`,
  },
  {
    name: "grpc.client_idle_timeout_ms",
    kind: "ms",
    default: "1800000 (30 min)",
    what: "a channel with no call for this long goes IDLE and connects again on the next call; gRPC core closes its connection then, grpc-js 1.14 keeps it until its subchannel pool's next sweep, up to 10 s later (measured: the knob group)",
    doc: `gRFC A9 (client-side idleness); ${doc}`,
  },
  {
    name: "grpc.enable_retries",
    kind: "flag",
    default: "1",
    what: "0 turns off the service config's retries and the transparent retries of calls the server never saw",
    doc: `gRFC A6; ${doc}`,
  },
  {
    name: "grpc.service_config",
    kind: "json",
    default: "none",
    what: "deadline, wait-for-ready, retries",
    doc: serviceConfig,
  },
];

const grpcServerCommon: LibraryOption[] = [
  {
    name: "grpc.keepalive_time_ms",
    kind: "ms",
    default: "7200000 (2 h)",
    what: "the server PINGs each connection this often; an unanswered PING closes it (a vanished client is noticed)",
    doc: grpcKeepalive,
  },
  {
    name: "grpc.keepalive_timeout_ms",
    kind: "ms",
    default: "20000",
    what: "how long the server's PING may go unanswered",
    doc: grpcKeepalive,
  },
  {
    name: "grpc.max_connection_idle_ms",
    kind: "ms",
    default: "off",
    what: "a connection with no call for this long gets GOAWAY",
    doc: "gRFC A9 (server-side connection management)",
  },
  {
    name: "grpc.max_connection_age_ms",
    kind: "ms",
    default: "off",
    what: "a connection this old gets GOAWAY (rotation); its calls may finish within the grace",
    doc: "gRFC A9",
  },
  {
    name: "grpc.max_connection_age_grace_ms",
    kind: "ms",
    default: "off (unbounded)",
    what: "how long calls of a connection past its age may still run",
    doc: "gRFC A9",
  },
];

export const optionSections: readonly OptionSection[] = [
  {
    id: "connect-node",
    role: "client",
    stack: "connect",
    library: "@connectrpc/connect-node",
    options: [
      {
        name: "pingIntervalMs",
        kind: "ms",
        default: "off (Infinity)",
        what: "PING after this long without a received byte; an unanswered one ends the connection's calls unavailable",
        doc: "connect-node Http2SessionManager options (http2-session-manager.ts)",
      },
      {
        name: "pingTimeoutMs",
        kind: "ms",
        default: "15000",
        what: "how long a PING may go unanswered",
        doc: "connect-node Http2SessionManager options",
      },
      {
        name: "pingIdleConnection",
        kind: "boolean",
        default: "false",
        what: "true: PINGs also while no call is open",
        doc: "connect-node Http2SessionManager options",
      },
      {
        name: "idleConnectionTimeoutMs",
        kind: "ms",
        default: "900000 (15 min)",
        what: "a connection with no call for this long is closed; the next call opens a new one",
        doc: "connect-node Http2SessionManager options",
      },
      {
        name: "defaultTimeoutMs",
        kind: "ms",
        default: "none",
        what: "a deadline for every call that sets none (DEADLINE_EXCEEDED)",
        doc: "connect-node transport options (createGrpcTransport and the others)",
      },
    ],
  },
  {
    id: "grpc-js",
    role: "client",
    stack: "grpc-js",
    library: "@grpc/grpc-js",
    options: grpcClientCommon(grpcJsOptions),
  },
  {
    id: "grpcio",
    role: "client",
    stack: "grpcio",
    library: "grpcio (gRPC core)",
    options: [
      ...grpcClientCommon("gRPC core include/grpc/impl/grpc_types.h"),
      {
        name: "timeout",
        kind: "seconds",
        default: "none",
        what: "the per-call deadline (the timeout= argument of each call): gRPC core 1.51's service-config timeout fires early (README), this one does not",
        doc: "grpcio API: the timeout argument of a stub method's call, in seconds",
        via: "flag",
        flag: { name: "timeout-ms", scale: 1000 },
      },
      {
        name: "grpc.http2.max_pings_without_data",
        kind: "count",
        default: "2",
        what: "PINGs sent while no data is sent, before gRPC core sends no more (0: no limit): keepalive stops on a silent stream",
        doc: grpcKeepalive,
      },
      {
        name: "grpc.http2.min_time_between_pings_ms",
        kind: "ms",
        default: "300000 (5 min)",
        what: "gRPC core (1.51) keeps PINGs at least this far apart while no data is sent, whatever keepalive_time_ms says",
        doc: `${grpcKeepalive}; gRPC core 1.51 grpc_types.h`,
      },
    ],
  },
  {
    id: "connect-node-server",
    role: "server",
    stack: "connect",
    library:
      "server.ts on @connectrpc/connect-node (connect-node and node:http2 have no keepalive: these are the lab server's flags)",
    options: [
      {
        name: "ping-interval-ms",
        kind: "ms",
        default: "60000 (ours; 0: off, as connect-node ships)",
        what: "the server PINGs each connection this often (lib/session-keepalive.ts)",
        doc: "lib/server-flags.ts",
        via: "flag",
      },
      {
        name: "ping-timeout-ms",
        kind: "ms",
        default: "20000",
        what: "how long the server's PING may go unanswered",
        doc: "lib/server-flags.ts",
        via: "flag",
      },
      {
        name: "write-stall-timeout-ms",
        kind: "ms",
        default: "20000 (ours; connect-node has none)",
        what: "a reply that cannot be sent this long ends its stream (a client that stopped reading)",
        doc: "lib/server-flags.ts, lib/reply-flow.ts",
        via: "flag",
      },
    ],
  },
  {
    id: "grpc-js-server",
    role: "server",
    stack: "grpc-js",
    library: "@grpc/grpc-js",
    options: [
      ...grpcServerCommon,
      {
        name: "write-stall-timeout-ms",
        kind: "ms",
        default: "20000 (the lab server's flag; grpc-js has none)",
        what: "a reply that cannot be sent this long ends its stream",
        doc: "lib/server-flags.ts",
        via: "flag",
      },
    ],
  },
  {
    id: "grpcio-server",
    role: "server",
    stack: "grpcio",
    library: "grpcio (gRPC core)",
    options: [
      ...grpcServerCommon,
      {
        name: "grpc.keepalive_permit_without_calls",
        kind: "flag",
        default: "0",
        what: "1: a client's PINGs while no call is open are allowed (0: each is a strike of the ping policy)",
        doc: grpcKeepalive,
      },
      {
        name: "grpc.http2.min_ping_interval_without_data_ms",
        kind: "ms",
        default: "300000 (5 min)",
        what: "a client PING sooner than this after the last, while the server sends no data, is a strike",
        doc: grpcKeepalive,
      },
      {
        name: "grpc.http2.max_ping_strikes",
        kind: "count",
        default: "2",
        what: 'strikes allowed before GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") closes the connection (0: no limit)',
        doc: grpcKeepalive,
      },
    ],
  },
];

/** The section of this id, or undefined. */
export const optionSection = (id: string) => optionSections.find((section) => section.id === id);

/** The section whose options a client or server stack takes. */
export function sectionOf(role: "client" | "server", stack: string): OptionSection | undefined {
  return optionSections.find((section) => section.role === role && section.stack === stack);
}
