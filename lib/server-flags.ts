import type { ChatRepliesOptions } from "./chat-replies.ts";
import { choiceFlag, type FlagSpecs, intFlag, optionalIntFlag, parseFlags, stringFlag } from "./cli.ts";
import { type LibraryOptions, optionsFlag, readOptionsFlag } from "./library-options.ts";
import type { ReplyFlowOptions } from "./reply-flow.ts";
import { readServerTls, type ServerTls, serverTlsFlags } from "./tls-flags.ts";

/**
 * connect-node accepts messages up to 4 GiB unless told otherwise; gRPC
 * implementations refuse more than 4 MiB by default (grpc-js
 * grpc.max_receive_message_length), and so do we: one request must not be
 * able to take a server's memory.
 */
export const defaultReadMaxBytes = 4 * 1024 * 1024;

/**
 * Concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS), the
 * half of a connection's memory bound that the reply budget does not cover
 * (issue 21): each stream holds its request (up to --read-max-bytes) and
 * its state (~36 kB on connect-node, ~12 kB on grpc-js, measured) for as
 * long as its client likes. grpc-go (math.MaxUint32), grpc-js 1.14 and
 * gRPC core 1.51 (no SETTINGS entry: Node's 2^32-1, nghttp2's unlimited; on
 * the wire with nghttp -v) set no limit; RFC 9113 section 6.5.2 recommends
 * no less than 100. 16 keeps 20 connections of clients that read nothing
 * under 100 MiB of heap (bench slow-readers). grpc-js and gRPC core clients
 * queue calls beyond it; connect-node's fail them `internal` (Node's
 * REFUSED_STREAM), so a connect-node client that makes more calls at once
 * on one transport needs a server that allows them: --max-streams.
 */
export const defaultMaxStreams = 16;

/**
 * Server-side keepalive, on by default: without it a server never notices a
 * client that vanished without a FIN (power loss, a network gone), and Node
 * keeps connections ended by a client's protocol error open in CLOSE-WAIT
 * (lib/session-keepalive.ts). grpc-js and grpc-go servers ping every 2 hours
 * by default; a minute costs one PING frame per connection per minute.
 */
export const defaultPingIntervalMs = 60_000;
/** As gRPC clients' default keepalive timeout. */
export const defaultPingTimeoutMs = 20_000;

/**
 * A reply that cannot be sent for this long ends its stream (lib/reply-flow.ts):
 * a client that reads nothing for 20 s while its PINGs are answered is not
 * going to; a healthy client on a slow link moves some bytes within that.
 */
export const defaultWriteStallTimeoutMs = 20_000;

/** Unsent reply bytes a connection may hold before its handlers wait: room for a few big replies. */
export const defaultMaxUnsentBytes = 1024 * 1024;

/** The flags both Chat servers take, so they can be swapped for one another. */
export const serverFlags: FlagSpecs = {
  host: { type: "string", help: "address to listen on", default: "127.0.0.1" },
  port: { type: "string", help: "port to listen on; 0 picks a free one", default: "50051" },
  count: { type: "string", help: "responses per Chat stream", default: "3" },
  "interval-ms": { type: "string", help: "pause between two responses", default: "2000" },
  "grace-ms": {
    type: "string",
    help: "graceful-shutdown budget: in-flight streams may finish within it, the rest end unavailable",
    default: "5000, enough for a default stream to finish",
  },
  "stall-after": {
    type: "string",
    help: "stop sending after this many messages and stay silent (a stalled handler in a live process)",
    default: "never",
  },
  "read-max-bytes": {
    type: "string",
    help: "largest request message accepted; a bigger one ends its call resource_exhausted",
    default: `${defaultReadMaxBytes} (4 MiB, gRPC's default)`,
  },
  "max-streams": {
    type: "string",
    help: "concurrent streams per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS), each holding its request (up to --read-max-bytes) while it runs; more are refused (REFUSED_STREAM): grpc-js and gRPC core clients queue them, connect-node's fail them internal",
    default: `${defaultMaxStreams}`,
  },
  "ping-interval-ms": {
    type: "string",
    help: "server-side HTTP/2 keepalive: PING each connection this often; 0 turns it off",
    default: `${defaultPingIntervalMs}`,
  },
  "ping-timeout-ms": {
    type: "string",
    help: "server-side keepalive: close a connection whose PING is unanswered this long",
    default: `${defaultPingTimeoutMs}`,
  },
  "write-stall-timeout-ms": {
    type: "string",
    help: "end a stream whose reply could not be sent for this long (the client reads nothing); 0 turns it off",
    default: `${defaultWriteStallTimeoutMs}`,
  },
  "max-unsent-bytes": {
    type: "string",
    help: "unsent reply bytes one connection may hold, all its streams together (one message more may be under way); beyond it its handlers wait before they make their next message",
    default: `${defaultMaxUnsentBytes} (1 MiB)`,
  },
  "max-connection-age-ms": {
    type: "string",
    help: "rotate connections: GOAWAY(NO_ERROR) to each connection this long (+-10% jitter) after it opened; its streams may finish within --max-connection-age-grace-ms (grpc.max_connection_age_ms)",
    default: "0 (off, as in gRPC)",
  },
  "max-connection-age-grace-ms": {
    type: "string",
    help: "after a connection's age GOAWAY, how long its streams may run before it is closed (grpc.max_connection_age_grace_ms)",
    default: "none: until they end",
  },
  quiet: { type: "boolean", help: "do not print a line per message sent" },
  options: {
    ...optionsFlag,
    help: `grpc-js only: ${optionsFlag.help} (connect-node has no server option that changes liveness)`,
  },
  "stop-mode": {
    type: "string",
    help: "how SIGTERM or SIGINT stops the server: ours (a grace, then unavailable \"server shutting down\"), library-graceful (the library's own graceful stop), library-immediate (the library's own immediate stop)",
    default: "ours",
  },
  ...serverTlsFlags,
  "no-write-unblock": {
    type: "boolean",
    help: "connect-node only, for the lab: leave connect-node's stuck write as it is (a handler whose client left while its reply waited on flow control never ends)",
  },
};

export interface ServerSettings {
  host: string;
  port: number;
  count: number;
  intervalMs: number;
  graceMs: number;
  quiet: boolean;
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Concurrent streams allowed per connection. */
  maxStreams: number;
  /** Server-side keepalive: PING interval (0: off) and timeout, ms; `explicit`: given as flags (they win over --options). */
  keepalive: { intervalMs: number; timeoutMs: number; explicit: boolean };
  /** --options: the library's own server options (grpc-js), under the flags given (lab profiles, issue 18). */
  libraryOptions: LibraryOptions;
  /** What each Chat stream sends. */
  replies: ChatRepliesOptions;
  /** The write-stall timeout and the per-connection bound on unsent replies. */
  flow: ReplyFlowOptions;
  /** connect-node: unblock a write whose stream closed (lib/connect-write-unblock.ts). Default: true. */
  writeUnblock: boolean;
  /** How a signal stops the server (issue 12): see stopModes. */
  stopMode: StopMode;
  /** Connection rotation (issue 17): GOAWAY after maxAgeMs (0: off), closed graceMs later (undefined: when its streams end). */
  connectionAge: { maxAgeMs: number; graceMs: number | undefined };
  /** HTTP/2 over TLS with this certificate (issue 19); undefined: h2c. */
  tls: ServerTls | undefined;
}

/**
 * How a signal stops a server:
 * - ours: GOAWAY, streams in flight finish within --grace-ms, the rest end
 *   unavailable "server shutting down"; a second signal ends them at once;
 * - library-graceful: the library's own graceful stop, as most servers call
 *   it: grpc-js tryShutdown(), grpcio stop(grace), connect-node
 *   http2Server.close() with each session closed (GOAWAY);
 * - library-immediate: the library's own immediate stop: grpc-js
 *   forceShutdown(), grpcio stop(0), and for connect-node no handler at all
 *   (Node's default: the signal ends the process).
 */
export const stopModes = ["ours", "library-graceful", "library-immediate"] as const;
export type StopMode = (typeof stopModes)[number];

/** Parses and checks a server's command line; throws a UsageError naming a bad flag. */
export function readServerSettings(program: string, summary: string): ServerSettings {
  const flags = parseFlags({ program, summary, flags: serverFlags });
  const count = intFlag(flags, "count", { default: 3, min: 1 });
  const intervalMs = intFlag(flags, "interval-ms", { default: 2000 });
  return {
    host: stringFlag(flags, "host", "127.0.0.1"),
    port: intFlag(flags, "port", { default: 50051, max: 65535 }),
    count,
    intervalMs,
    graceMs: intFlag(flags, "grace-ms", { default: 5000 }),
    quiet: flags.quiet === true,
    readMaxBytes: intFlag(flags, "read-max-bytes", { default: defaultReadMaxBytes, min: 1, max: 2 ** 31 - 1 }),
    maxStreams: intFlag(flags, "max-streams", { default: defaultMaxStreams, min: 1, max: 2 ** 31 - 1 }),
    keepalive: {
      intervalMs: intFlag(flags, "ping-interval-ms", { default: defaultPingIntervalMs }),
      timeoutMs: intFlag(flags, "ping-timeout-ms", { default: defaultPingTimeoutMs, min: 1 }),
      explicit: flags["ping-interval-ms"] !== undefined || flags["ping-timeout-ms"] !== undefined,
    },
    libraryOptions: readOptionsFlag(flags),
    replies: { count, intervalMs, stallAfter: optionalIntFlag(flags, "stall-after", { min: 0 }) },
    flow: {
      stallTimeoutMs: intFlag(flags, "write-stall-timeout-ms", { default: defaultWriteStallTimeoutMs }),
      maxUnsentBytes: intFlag(flags, "max-unsent-bytes", { default: defaultMaxUnsentBytes, min: 1 }),
    },
    writeUnblock: flags["no-write-unblock"] !== true,
    stopMode: choiceFlag(flags, "stop-mode", stopModes, "ours"),
    connectionAge: {
      maxAgeMs: intFlag(flags, "max-connection-age-ms", { default: 0 }),
      graceMs: optionalIntFlag(flags, "max-connection-age-grace-ms", { min: 0 }),
    },
    tls: readServerTls(flags),
  };
}
