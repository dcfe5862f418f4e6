import { choiceFlag, type FlagSpecs, type Flags, intFlag, optionalIntFlag, stringFlag, UsageError } from "./cli.ts";

export const protocols = ["grpc", "connect", "grpc-web"] as const;
export type Protocol = (typeof protocols)[number];

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
export type ClientMethod = "chat" | "health-check" | "health-watch";

export interface ClientSettings {
  method: ClientMethod;
  /** The service --health and --watch-health ask about; "" is the whole server. */
  healthService: string;
  host: string;
  port: number;
  protocol: Protocol;
  name: string;
  text: string;
  pingIntervalMs: number | undefined;
  pingTimeoutMs: number | undefined;
  timeoutMs: number | undefined;
  idleTimeoutMs: number | undefined;
  calls: number;
  callGapMs: number;
  json: boolean;
  /** Run as the lab's client agent instead of making calls. */
  agent: boolean;
}

/** Reads and checks the client flags; throws a UsageError naming a bad one. */
export function readClientSettings(flags: Flags, allowed: readonly Protocol[] = protocols): ClientSettings {
  if (flags.health && flags["watch-health"]) throw new UsageError("--health and --watch-health: choose one");
  return {
    method: flags.health ? "health-check" : flags["watch-health"] ? "health-watch" : "chat",
    healthService: stringFlag(flags, "health-service", ""),
    host: stringFlag(flags, "host", "127.0.0.1"),
    port: intFlag(flags, "port", { default: 50051, min: 1, max: 65535 }),
    protocol: choiceFlag(flags, "protocol", allowed, "grpc"),
    name: stringFlag(flags, "name", "alice"),
    text: stringFlag(flags, "text", "are you there?"),
    pingIntervalMs: optionalIntFlag(flags, "ping-interval-ms", { min: 1 }),
    pingTimeoutMs: optionalIntFlag(flags, "ping-timeout-ms", { min: 1 }),
    timeoutMs: optionalIntFlag(flags, "timeout-ms", { min: 1 }),
    idleTimeoutMs: optionalIntFlag(flags, "idle-timeout-ms", { min: 1 }),
    calls: intFlag(flags, "calls", { default: 1, min: 1, max: 1000 }),
    callGapMs: intFlag(flags, "call-gap-ms", { default: 0 }),
    json: flags.json === true,
    agent: flags.agent === true,
  };
}

/** host:port with brackets around an IPv6 address, as URLs and grpc-js targets want it. */
export function authority(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
