import { choiceFlag, type FlagSpecs, type Flags, intFlag, optionalIntFlag, stringFlag, UsageError } from "./cli.ts";
import type { DynamicCallFlags } from "./dynamic-call.ts";
import { type LibraryOptions, optionsFlag, readOptionsFlag } from "./library-options.ts";
import { clientTlsFlags, readClientTls } from "./tls-flags.ts";

export const protocols = ["grpc", "connect", "grpc-web"] as const;
export type Protocol = (typeof protocols)[number];

/**
 * The retry policy --retry N asks for (gRFC A6), the same in grpc-js's and
 * gRPC core's service config and in lib/retry-interceptor.ts: N attempts
 * (gRPC caps them at 5), pauses of up to 0.25, 0.5, 1 and 2 s (A6's jitter:
 * a random part of each), for calls that failed UNAVAILABLE before their
 * first message.
 */
export const retryPolicy = { initialBackoffMs: 250, maxBackoffMs: 2000, multiplier: 2 };

/** Load-balancing policies of the gRPC service config both grpc-js and gRPC core ship. */
export const lbPolicies = ["pick_first", "round_robin"] as const;
export type LbPolicy = (typeof lbPolicies)[number];

/** The flags both Chat clients take, so a run can be repeated with the other stack. */
export const clientFlags: FlagSpecs = {
  host: { type: "string", help: "server address", default: "127.0.0.1" },
  port: { type: "string", help: "server port", default: "50051" },
  protocol: { type: "string", help: `wire protocol: ${protocols.join(", ")}`, default: "grpc" },
  name: { type: "string", help: "name sent in the request", default: "alice" },
  text: { type: "string", help: "text sent in the request", default: "are you there?" },
  "ping-interval-ms": { type: "string", help: "HTTP/2 keepalive: PING after this long without data", default: "off" },
  "ping-timeout-ms": {
    type: "string",
    help: "HTTP/2 keepalive: connection dead if a PING is unanswered this long",
    default: "15000 (connect-node's)",
  },
  "timeout-ms": { type: "string", help: "deadline for the whole call", default: "none" },
  "idle-timeout-ms": {
    type: "string",
    help: "abort the stream (deadline_exceeded) when no message came for this long",
    default: "none",
  },
  health: {
    type: "boolean",
    help: "instead of Chat, ask grpc.health.v1.Health/Check once; exit 0 only if SERVING",
  },
  "watch-health": {
    type: "boolean",
    help: "instead of Chat, call grpc.health.v1.Health/Watch and print each status until the stream ends",
  },
  "health-service": {
    type: "string",
    help: "service to ask --health or --watch-health about",
    default: '"" (the whole server)',
  },
  method: {
    type: "string",
    help: "instead of Chat, call this method of your own service, pkg.v1.Service/Method, from --descriptor-set (issue 28)",
    default: "none",
  },
  request: { type: "string", help: "--method's request in protobuf's JSON form", default: "{}" },
  "descriptor-set": {
    type: "string",
    help: "--method's schema: a binary FileDescriptorSet with imports (buf build -o FILE)",
    default: "none",
  },
  target: {
    type: "string",
    help: "a gRPC target instead of --host and --port, several addresses behind one name (grpc-js and grpcio): ipv4:127.0.0.1:P1,127.0.0.2:P2",
    default: "none",
  },
  "lb-policy": {
    type: "string",
    help: `how a --target's addresses share the calls (grpc-js and grpcio): ${lbPolicies.join(", ")}`,
    default: "pick_first (the libraries')",
  },
  "ping-idle": {
    type: "boolean",
    help: "keepalive PINGs also while no call is open: grpc.keepalive_permit_without_calls (grpc-js, grpcio), pingIdleConnection (connect-node)",
  },
  "health-check": {
    type: "boolean",
    help: 'client-side health checking: healthCheckConfig {serviceName: ""} in the service config, each backend watched with grpc.health.v1 Watch and used only while SERVING (gRPC core with round_robin; grpc-js reads no healthCheckConfig; connect-node has none)',
  },
  "wait-for-ready": {
    type: "boolean",
    help: "a call waits for the channel to be ready instead of failing at once (grpc-js, grpcio; connect-node has none)",
  },
  retry: {
    type: "string",
    help: "attempts in all for a call that fails unavailable before its first message: a retry policy in the service config (grpc-js, grpcio), lib/retry-interceptor.ts (connect-node)",
    default: "1 (no retry)",
  },
  options: optionsFlag,
  ...clientTlsFlags,
  calls: { type: "string", help: "calls to make one after another on the same connection", default: "1" },
  "call-gap-ms": { type: "string", help: "pause between two calls", default: "0" },
  json: { type: "boolean", help: "print the result as one JSON object on the last stdout line" },
  agent: {
    type: "boolean",
    help: "serve many calls from stdin, one JSON command per line: the lab's client agent (docs/agent-protocol.md)",
  },
};

/** The same flags as grpc-js's client states them: gRPC only, and grpc-js's own PING timeout. */
export const grpcJsClientFlags: FlagSpecs = {
  ...clientFlags,
  protocol: { ...clientFlags.protocol, help: "wire protocol: grpc (grpc-js speaks gRPC only)" },
  "ping-timeout-ms": { ...clientFlags["ping-timeout-ms"], default: "20000 (grpc-js's)" },
};

/** What a client calls: the Chat stream, or the health service once (Check) or as a stream (Watch). */
export type ClientMethod = "chat" | "health-check" | "health-watch" | "dynamic";

/**
 * What one call of a channel may set for itself (the lab's client agent
 * makes calls on a channel it opened: docs/agent-protocol.md); the rest of
 * ClientSettings belongs to the channel.
 */
export const callFlagNames = [
  "name",
  "text",
  "timeout-ms",
  "wait-for-ready",
  "health",
  "watch-health",
  "health-service",
];
export type CallSettings = Pick<
  ClientSettings,
  "method" | "healthService" | "name" | "text" | "timeoutMs" | "waitForReady"
>;

export interface ClientSettings {
  method: ClientMethod;
  /** The service --health and --watch-health ask about; "" is the whole server. */
  healthService: string;
  /** --method: a method of the user's own service, from its schema (method "dynamic"). */
  dynamic: DynamicCallFlags | undefined;
  host: string;
  port: number;
  protocol: Protocol;
  name: string;
  text: string;
  pingIntervalMs: number | undefined;
  pingTimeoutMs: number | undefined;
  timeoutMs: number | undefined;
  idleTimeoutMs: number | undefined;
  /** A gRPC target naming several addresses, instead of host and port (grpc-js, grpcio). */
  target: string | undefined;
  lbPolicy: LbPolicy | undefined;
  /** Keepalive also while no call is open. */
  pingIdle: boolean;
  /** Client-side health checking (healthCheckConfig in the service config). */
  healthCheck: boolean;
  waitForReady: boolean;
  /** Attempts in all for a call that fails unavailable before its first message; 1: no retry. */
  retryAttempts: number;
  /** --options: the library's own options, under the flags above (lab profiles, issue 18). */
  libraryOptions: LibraryOptions;
  /** HTTP/2 over TLS trusting this CA's certificates (PEM, issue 19); undefined: h2c. */
  tlsCa: Buffer | undefined;
  calls: number;
  callGapMs: number;
  json: boolean;
  /** Run as the lab's client agent instead of making calls. */
  agent: boolean;
}

/** Reads and checks the client flags; throws a UsageError naming a bad one. */
export function readClientSettings(flags: Flags, allowed: readonly Protocol[] = protocols): ClientSettings {
  if (flags.health && flags["watch-health"]) throw new UsageError("--health and --watch-health: choose one");
  const dynamic = typeof flags.method === "string" ? readDynamicFlags(flags) : undefined;
  return {
    method: flags.health ? "health-check" : flags["watch-health"] ? "health-watch" : dynamic ? "dynamic" : "chat",
    healthService: stringFlag(flags, "health-service", ""),
    dynamic,
    host: stringFlag(flags, "host", "127.0.0.1"),
    port: intFlag(flags, "port", { default: 50051, min: 1, max: 65535 }),
    protocol: choiceFlag(flags, "protocol", allowed, "grpc"),
    name: stringFlag(flags, "name", "alice"),
    text: stringFlag(flags, "text", "are you there?"),
    pingIntervalMs: optionalIntFlag(flags, "ping-interval-ms", { min: 1 }),
    pingTimeoutMs: optionalIntFlag(flags, "ping-timeout-ms", { min: 1 }),
    timeoutMs: optionalIntFlag(flags, "timeout-ms", { min: 1 }),
    idleTimeoutMs: optionalIntFlag(flags, "idle-timeout-ms", { min: 1 }),
    target: typeof flags.target === "string" ? flags.target : undefined,
    lbPolicy:
      typeof flags["lb-policy"] === "string" ? choiceFlag(flags, "lb-policy", lbPolicies, "pick_first") : undefined,
    pingIdle: flags["ping-idle"] === true,
    healthCheck: flags["health-check"] === true,
    waitForReady: flags["wait-for-ready"] === true,
    retryAttempts: intFlag(flags, "retry", { default: 1, min: 1, max: 10 }),
    libraryOptions: readOptionsFlag(flags),
    tlsCa: readClientTls(flags),
    calls: intFlag(flags, "calls", { default: 1, min: 1, max: 1000 }),
    callGapMs: intFlag(flags, "call-gap-ms", { default: 0 }),
    json: flags.json === true,
    agent: flags.agent === true,
  };
}

/**
 * --method, --request and --descriptor-set; the caller that makes such calls checks them against
 * the schema (lib/dynamic-call.ts: a release's bundle has no schema reader).
 */
function readDynamicFlags(flags: Flags): DynamicCallFlags {
  if (typeof flags["descriptor-set"] !== "string") throw new UsageError("--method needs --descriptor-set FILE");
  return {
    method: stringFlag(flags, "method", ""),
    request: stringFlag(flags, "request", "{}"),
    descriptorSet: stringFlag(flags, "descriptor-set", ""),
  };
}

/**
 * The flags only grpc-js and gRPC core have: connect-node calls one address
 * per transport and has no wait-for-ready. A one-line error naming the flag.
 */
export function refuseGrpcOnlyFlags(settings: ClientSettings, program: string): void {
  const only = [
    settings.target !== undefined && "--target",
    settings.lbPolicy !== undefined && "--lb-policy",
    settings.waitForReady && "--wait-for-ready",
    settings.healthCheck && "--health-check",
  ].filter(Boolean);
  if (only.length > 0) {
    throw new UsageError(
      `${only.join(", ")}: not in ${program}: connect-node calls one address per transport, and has no wait-for-ready and no client-side health checking`,
    );
  }
}

/** host:port with brackets around an IPv6 address, as URLs and grpc-js targets want it. */
export function authority(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
