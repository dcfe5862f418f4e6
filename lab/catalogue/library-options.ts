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

/** A duration in ms, the way every Go, Java and Rust option here is given to the lab's programs. */
const ms = (name: string, dflt: string, what: string, doc: string): LibraryOption => ({
  name,
  kind: "ms",
  default: dflt,
  what,
  doc,
});

const netHttp = "Go net/http (http.HTTP2Config, Go 1.24+; x/net/http2 calls SendPingTimeout ReadIdleTimeout)";
const grpcGoKeepalive =
  "grpc-go keepalive package (keepalive.ClientParameters, keepalive.ServerParameters, keepalive.EnforcementPolicy) and Documentation/keepalive.md";
const grpcJavaBuilder = "grpc-java NettyChannelBuilder / NettyServerBuilder javadoc";
const tonicDocs = "tonic transport::Endpoint / transport::Server docs (hyper's HTTP/2 keep-alive)";

/** The sections of the stacks in other languages (issue 27), each option by the name its users write in code. */
const otherLanguages: OptionSection[] = [
  {
    id: "connect-go",
    role: "client",
    stack: "connect-go",
    library: "connectrpc.com/connect on net/http (connect-go has no liveness options of its own)",
    options: [
      ms(
        "http.HTTP2Config.SendPingTimeout",
        "0 (off)",
        "PING after this long without a frame from the server, on idle connections too; an unanswered one closes the connection",
        netHttp,
      ),
      ms("http.HTTP2Config.PingTimeout", "15000", "how long a PING may go unanswered", netHttp),
      ms(
        "http.HTTP2Config.WriteByteTimeout",
        "0 (off)",
        "a connection whose writes make no progress this long is closed",
        netHttp,
      ),
      ms(
        "http.Transport.IdleConnTimeout",
        "0 (no limit; http.DefaultTransport: 90000)",
        "an idle connection is closed after this long; the next call opens a new one",
        "Go net/http Transport",
      ),
      ms("net.Dialer.Timeout", "none (the kernel's)", "how long a connection may take to open", "Go net Dialer"),
      {
        name: "context.WithTimeout",
        kind: "ms",
        default: "none",
        what: "the call's deadline: connect-go takes it from the call's context and sends it (grpc-timeout, Connect-Timeout-Ms)",
        doc: "connect-go docs, Deadlines: a deadline is the call's context.Context",
        via: "flag",
        flag: { name: "timeout-ms", scale: 1 },
      },
    ],
  },
  {
    id: "connect-go-server",
    role: "server",
    stack: "connect-go",
    library: "connectrpc.com/connect on net/http",
    options: [
      ms(
        "http.HTTP2Config.SendPingTimeout",
        "0 (off)",
        "the server PINGs a connection silent this long; an unanswered PING closes it",
        netHttp,
      ),
      ms("http.HTTP2Config.PingTimeout", "15000", "how long the server's PING may go unanswered", netHttp),
      ms(
        "http.HTTP2Config.WriteByteTimeout",
        "0 (off)",
        "a connection whose writes make no progress this long is closed",
        netHttp,
      ),
      {
        name: "http.HTTP2Config.MaxConcurrentStreams",
        kind: "count",
        default: "250",
        what: "concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS)",
        doc: netHttp,
      },
      ms(
        "http.Server.IdleTimeout",
        "0 (none)",
        "a connection with no stream this long is closed (GOAWAY)",
        "Go net/http Server",
      ),
    ],
  },
  {
    id: "grpc-go",
    role: "client",
    stack: "grpc-go",
    library: "google.golang.org/grpc",
    options: [
      ms(
        "keepalive.ClientParameters.Time",
        "infinity (off)",
        "PING after this long without activity; grpc-go raises anything under 10 s to 10 s",
        grpcGoKeepalive,
      ),
      ms("keepalive.ClientParameters.Timeout", "20000", "how long a PING may go unanswered", grpcGoKeepalive),
      {
        name: "keepalive.ClientParameters.PermitWithoutStream",
        kind: "boolean",
        default: "false",
        what: "true: PINGs also while no call is open",
        doc: grpcGoKeepalive,
      },
      ms(
        "grpc.WithIdleTimeout",
        "1800000 (30 min)",
        "a channel with no call this long goes IDLE and closes its connections",
        "grpc-go dialoptions.go WithIdleTimeout; gRFC A9",
      ),
      ms(
        "backoff.Config.BaseDelay",
        "1000",
        "the first pause before a lost connection is tried again",
        "grpc-go backoff package; connection-backoff.md",
      ),
      ms(
        "backoff.Config.MaxDelay",
        "120000",
        "the longest pause between two connection attempts",
        "grpc-go backoff package",
      ),
      ms(
        "grpc.ConnectParams.MinConnectTimeout",
        "20000",
        "how long a connection attempt may take",
        "grpc-go dialoptions.go WithConnectParams",
      ),
      {
        name: "grpc.WithDefaultServiceConfig",
        kind: "json",
        default: "none",
        what: "deadline, wait-for-ready, retries, load balancing",
        doc: serviceConfig,
      },
    ],
  },
  {
    id: "grpc-go-server",
    role: "server",
    stack: "grpc-go",
    library: "google.golang.org/grpc",
    options: [
      ms(
        "keepalive.ServerParameters.Time",
        "7200000 (2 h)",
        "the server PINGs a connection idle this long; grpc-go raises anything under 1 s to 1 s",
        grpcGoKeepalive,
      ),
      ms(
        "keepalive.ServerParameters.Timeout",
        "20000",
        "how long the server's PING may go unanswered",
        grpcGoKeepalive,
      ),
      ms(
        "keepalive.ServerParameters.MaxConnectionIdle",
        "infinity",
        "a connection with no call this long gets GOAWAY",
        grpcGoKeepalive,
      ),
      ms(
        "keepalive.ServerParameters.MaxConnectionAge",
        "infinity",
        "a connection this old gets GOAWAY (rotation)",
        grpcGoKeepalive,
      ),
      ms(
        "keepalive.ServerParameters.MaxConnectionAgeGrace",
        "infinity",
        "how long calls of a connection past its age may still run; then it is closed",
        grpcGoKeepalive,
      ),
      ms(
        "keepalive.EnforcementPolicy.MinTime",
        "300000 (5 min)",
        'a client PING sooner than this after the last is a strike; too many draw GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings")',
        grpcGoKeepalive,
      ),
      {
        name: "keepalive.EnforcementPolicy.PermitWithoutStream",
        kind: "boolean",
        default: "false",
        what: "true: client PINGs while no call is open are allowed",
        doc: grpcGoKeepalive,
      },
      {
        name: "grpc.MaxConcurrentStreams",
        kind: "count",
        default: "unlimited (math.MaxUint32)",
        what: "concurrent streams per connection",
        doc: "grpc-go server.go MaxConcurrentStreams",
      },
    ],
  },
  {
    id: "grpc-java",
    role: "client",
    stack: "grpc-java",
    library: "io.grpc:grpc-netty",
    options: [
      ms(
        "NettyChannelBuilder.keepAliveTime",
        "off",
        "PING after this long without activity; grpc-java raises anything under 10 s to 10 s",
        grpcJavaBuilder,
      ),
      ms("NettyChannelBuilder.keepAliveTimeout", "20000", "how long a PING may go unanswered", grpcJavaBuilder),
      {
        name: "NettyChannelBuilder.keepAliveWithoutCalls",
        kind: "boolean",
        default: "false",
        what: "true: PINGs also while no call is open",
        doc: grpcJavaBuilder,
      },
      ms(
        "NettyChannelBuilder.idleTimeout",
        "1800000 (30 min)",
        "a channel with no call this long goes IDLE and closes its connections",
        grpcJavaBuilder,
      ),
      ms(
        "ChannelOption.CONNECT_TIMEOUT_MILLIS",
        "30000 (Netty's)",
        "how long a connection attempt may take",
        "Netty ChannelOption",
      ),
      {
        name: "NettyChannelBuilder.defaultServiceConfig",
        kind: "json",
        default: "none",
        what: "deadline, wait-for-ready, retries, load balancing",
        doc: serviceConfig,
      },
      {
        name: "NettyChannelBuilder.enableRetry",
        kind: "boolean",
        default: "true",
        what: "false: no service-config retries and no transparent retries (disableRetry())",
        doc: grpcJavaBuilder,
      },
    ],
  },
  {
    id: "grpc-java-server",
    role: "server",
    stack: "grpc-java",
    library: "io.grpc:grpc-netty",
    options: [
      ms(
        "NettyServerBuilder.keepAliveTime",
        "7200000 (2 h)",
        "the server PINGs a connection this often",
        grpcJavaBuilder,
      ),
      ms(
        "NettyServerBuilder.keepAliveTimeout",
        "20000",
        "how long the server's PING may go unanswered",
        grpcJavaBuilder,
      ),
      ms(
        "NettyServerBuilder.permitKeepAliveTime",
        "300000 (5 min)",
        'a client PING sooner than this after the last is a strike; two draw GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings")',
        grpcJavaBuilder,
      ),
      {
        name: "NettyServerBuilder.permitKeepAliveWithoutCalls",
        kind: "boolean",
        default: "false",
        what: "true: client PINGs while no call is open are allowed",
        doc: grpcJavaBuilder,
      },
      ms(
        "NettyServerBuilder.maxConnectionIdle",
        "infinite",
        "a connection with no call this long gets GOAWAY",
        grpcJavaBuilder,
      ),
      ms(
        "NettyServerBuilder.maxConnectionAge",
        "infinite",
        "a connection this old gets GOAWAY (rotation)",
        grpcJavaBuilder,
      ),
      ms(
        "NettyServerBuilder.maxConnectionAgeGrace",
        "infinite",
        "how long calls past the age may still run",
        grpcJavaBuilder,
      ),
      {
        name: "NettyServerBuilder.maxConcurrentCallsPerConnection",
        kind: "count",
        default: "unlimited",
        what: "concurrent streams per connection",
        doc: grpcJavaBuilder,
      },
    ],
  },
  {
    id: "tonic",
    role: "client",
    stack: "tonic",
    library: "tonic (hyper, h2)",
    options: [
      ms(
        "Endpoint::http2_keep_alive_interval",
        "none (off)",
        "PING this often while a call is open (or always, with keep_alive_while_idle)",
        tonicDocs,
      ),
      ms("Endpoint::keep_alive_timeout", "20000", "how long a PING may go unanswered", tonicDocs),
      {
        name: "Endpoint::keep_alive_while_idle",
        kind: "boolean",
        default: "false",
        what: "true: PINGs also while no call is open",
        doc: tonicDocs,
      },
      ms("Endpoint::connect_timeout", "none", "how long a connection may take to open", tonicDocs),
      ms(
        "Endpoint::timeout",
        "none",
        "a time limit on each call, by tower's timeout: until the response's headers, not over a stream (measured: docs/repro/rust)",
        tonicDocs,
      ),
      ms("Endpoint::tcp_keepalive", "none", "TCP keepalive on the connection's socket", tonicDocs),
    ],
  },
  {
    id: "tonic-server",
    role: "server",
    stack: "tonic",
    library: "tonic (hyper, h2)",
    options: [
      ms("Server::http2_keepalive_interval", "none (off)", "the server PINGs each connection this often", tonicDocs),
      ms("Server::http2_keepalive_timeout", "20000", "how long the server's PING may go unanswered", tonicDocs),
      {
        name: "Server::max_concurrent_streams",
        kind: "count",
        default: "none (h2's)",
        what: "concurrent streams per connection",
        doc: tonicDocs,
      },
      ms(
        "Server::max_connection_age",
        "none",
        "a connection this old gets GOAWAY; with a grace set, tonic 0.14.9 sends none and closes the connection at age and grace (docs/repro/rust tonic-connection-age)",
        tonicDocs,
      ),
      ms("Server::max_connection_age_grace", "none", "how long calls past the age may still run", tonicDocs),
      ms("Server::tcp_keepalive", "none", "TCP keepalive on each accepted socket", tonicDocs),
      {
        name: "ping-interval-ms",
        kind: "ms",
        default: "60000 (the lab server's; 0: off, as tonic ships)",
        what: "the lab server's keepalive flag: 0 turns tonic's PINGs off",
        doc: "peers/tonic/src/server.rs",
        via: "flag",
      },
    ],
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
        what: "the per-call deadline (the timeout= argument of each call): gRPC core's service-config timeout fires early (1.51.1 and 1.85.1: docs/repro/grpcio-service-config-timeout.py, grpc/grpc#34547), this one does not",
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
      {
        name: "grpc.http2.ping_timeout_ms",
        kind: "ms",
        default: "60000 once keepalive is on (gRPC core 1.85; none before)",
        what: "how long gRPC core 1.85 waits for a PING's ACK before it closes the connection: keepalive_timeout_ms alone no longer bounds it (measured: docs/repro/grpcio-keepalive-timeout.py)",
        doc: "gRPC core src/core/ext/transport/chttp2/transport/internal.h (GRPC_ARG_PING_TIMEOUT_MS), chttp2_transport.cc read_channel_args; not in keepalive.md",
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
      {
        name: "grpc.http2.ping_timeout_ms",
        kind: "ms",
        default: "60000 once keepalive is on (gRPC core 1.85; none before)",
        what: "how long the server's keepalive PING may go unanswered (gRPC core 1.85): keepalive_timeout_ms alone no longer bounds it",
        doc: "gRPC core src/core/ext/transport/chttp2/transport/internal.h (GRPC_ARG_PING_TIMEOUT_MS); not in keepalive.md",
      },
    ],
  },
  ...otherLanguages,
];

/** The section of this id, or undefined. */
export const optionSection = (id: string) => optionSections.find((section) => section.id === id);

/** The section whose options a client or server stack takes. */
export function sectionOf(role: "client" | "server", stack: string): OptionSection | undefined {
  return optionSections.find((section) => section.role === role && section.stack === stack);
}
