/**
 * Profiles (issue 18): the settings each stack runs with, one section per
 * stack (library-options.ts), each key the library's own option name. The
 * case's own remedies (+keepalive, +deadline, ...) still apply on top: a
 * profile is what a user's channel and server are configured with, a case
 * what it adds.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../../lib/cli.ts";
import { type LibraryOption, type OptionSection, optionSection, optionSections, sectionOf } from "./library-options.ts";
import type { LabSettings } from "./settings.ts";

export type OptionValue = number | boolean | Record<string, unknown>;
export type ProfileSections = Record<string, Record<string, OptionValue>>;

export interface Profile {
  /** A built-in's name, or the file it was read from. */
  name: string;
  sections: ProfileSections;
}

/**
 * The deadline `recommended` gives every Chat call: a healthy stream's
 * length and three quarters of what is left before the watchdog, so that a
 * healthy stream ends well within it and a silent one is ended before the
 * lab would call it hung.
 */
export function recommendedDeadlineMs(s: LabSettings): number {
  const stream = (s.count - 1) * s.intervalMs;
  return stream + Math.floor(0.75 * (s.watchdogMs - stream));
}

/**
 * A gRPC service config that gives the Chat service's calls a deadline (not
 * the health Watch: a watch is meant to last). Nine digits after the point:
 * grpc-js 1.14 reads the digits as nanoseconds as they stand ("0.5s" is 5 ns,
 * service-config.js; measured: the call ends deadline_exceeded at once).
 */
const chatDeadline = (ms: number) => ({
  methodConfig: [{ name: [{ service: "chat.v1.ChatService" }], timeout: `${(ms / 1000).toFixed(9)}s` }],
});

/** The built-in profiles, each a function of the lab's timings (--quick scales them). */
export const builtinProfiles: Record<string, { summary: string; sections: (s: LabSettings) => ProfileSections }> = {
  lab: {
    summary:
      "the lab's own (the default run): each library's defaults, except that gRPC core's client may PING as often as a +keepalive case tells it",
    sections: (s) => ({
      // gRPC core (1.51) keeps PINGs 5 minutes apart while no data is sent, and sends at most 2:
      // a keepalive of 250 ms would send its first PING and then none (measured: the call hung
      // against a suspended server). The knob group shows what its defaults do.
      grpcio: {
        "grpc.http2.min_time_between_pings_ms": s.keepalive.intervalMs,
        "grpc.http2.max_pings_without_data": 0,
      },
    }),
  },
  defaults: {
    summary:
      "each library exactly as shipped: no client option set, and the servers without the lab servers' own keepalive and write-stall timeout",
    sections: () => ({
      "connect-node-server": { "ping-interval-ms": 0, "write-stall-timeout-ms": 0 },
      "grpc-js-server": { "grpc.keepalive_time_ms": 7_200_000, "write-stall-timeout-ms": 0 },
      "grpcio-server": { "grpc.keepalive_time_ms": 7_200_000 },
      // The servers in other languages (issue 27), their keepalive as their libraries ship it.
      "connect-go-server": { "http.HTTP2Config.SendPingTimeout": 0 },
      "grpc-go-server": { "keepalive.ServerParameters.Time": 7_200_000 },
      "grpc-java-server": { "NettyServerBuilder.keepAliveTime": 7_200_000 },
      "tonic-server": { "ping-interval-ms": 0 },
    }),
  },
  recommended: {
    summary:
      "keepalive on every client while idle too (gRPC core 1.85: with its PING timeout), a deadline on every Chat call, server keepalive, and gRPC servers (gRPC core, grpc-go, grpc-java) that permit the clients' PINGs",
    sections: (s) => {
      // Keepalive at the lab's pace, its PING timeout twice the lab's: an ACK late by a busy
      // machine's hiccup (the lab's relays run in one process) must not end a healthy connection.
      const intervalMs = s.keepalive.intervalMs;
      const timeoutMs = 2 * s.keepalive.timeoutMs;
      const deadline = recommendedDeadlineMs(s);
      const grpcClient = {
        "grpc.keepalive_time_ms": intervalMs,
        "grpc.keepalive_timeout_ms": timeoutMs,
        "grpc.keepalive_permit_without_calls": 1,
        "grpc.service_config": chatDeadline(deadline),
      };
      return {
        "connect-node": {
          pingIntervalMs: intervalMs,
          pingTimeoutMs: timeoutMs,
          pingIdleConnection: true,
          defaultTimeoutMs: deadline,
        },
        "grpc-js": grpcClient,
        grpcio: {
          "grpc.keepalive_time_ms": intervalMs,
          "grpc.keepalive_timeout_ms": timeoutMs,
          "grpc.keepalive_permit_without_calls": 1,
          "grpc.http2.max_pings_without_data": 0,
          "grpc.http2.min_time_between_pings_ms": intervalMs,
          // gRPC core 1.85 waits this long for a PING's ACK, a minute by default, whatever
          // keepalive_timeout_ms says (issue 27; docs/repro/grpcio-keepalive-timeout.py).
          "grpc.http2.ping_timeout_ms": timeoutMs,
          // gRPC core 1.51 ends a call with a service-config timeout early, by 0.6-1.9 s (measured, README):
          // the deadline goes on each call instead.
          timeout: deadline / 1000,
        },
        // Issue 27: the clients in other languages, each by its own names. grpc-go and grpc-java
        // raise the keepalive time to 10 s: the deadline is what ends a silent stream in time there.
        "connect-go": {
          "http.HTTP2Config.SendPingTimeout": intervalMs,
          "http.HTTP2Config.PingTimeout": timeoutMs,
          "context.WithTimeout": deadline,
        },
        "grpc-go": {
          "keepalive.ClientParameters.Time": intervalMs,
          "keepalive.ClientParameters.Timeout": timeoutMs,
          "keepalive.ClientParameters.PermitWithoutStream": true,
          "grpc.WithDefaultServiceConfig": chatDeadline(deadline),
        },
        "grpc-java": {
          "NettyChannelBuilder.keepAliveTime": intervalMs,
          "NettyChannelBuilder.keepAliveTimeout": timeoutMs,
          "NettyChannelBuilder.keepAliveWithoutCalls": true,
          "NettyChannelBuilder.defaultServiceConfig": chatDeadline(deadline),
        },
        tonic: {
          "Endpoint::http2_keep_alive_interval": intervalMs,
          "Endpoint::keep_alive_timeout": timeoutMs,
          "Endpoint::keep_alive_while_idle": true,
          "Endpoint::timeout": deadline,
        },
        // Server keepalive finds a client that vanished (the server's view); at twice the clients'
        // pace, so that a proxy's late answer on a busy machine is not taken for a dead one.
        "connect-node-server": {
          "ping-interval-ms": 2 * intervalMs,
          "ping-timeout-ms": timeoutMs,
          "write-stall-timeout-ms": s.writeStallMs,
        },
        "grpc-js-server": {
          "grpc.keepalive_time_ms": 2 * intervalMs,
          "grpc.keepalive_timeout_ms": timeoutMs,
          "write-stall-timeout-ms": s.writeStallMs,
        },
        "grpcio-server": {
          "grpc.keepalive_time_ms": 2 * intervalMs,
          "grpc.keepalive_timeout_ms": timeoutMs,
          // The clients PING idle connections, as often as every intervalMs: allow it, with room
          // for a PING that comes a little early.
          "grpc.keepalive_permit_without_calls": 1,
          "grpc.http2.min_ping_interval_without_data_ms": Math.floor(intervalMs / 2),
          // gRPC core 1.85's server waits this long for its PING's ACK (issue 27), as its client does.
          "grpc.http2.ping_timeout_ms": timeoutMs,
        },
        "connect-go-server": {
          "http.HTTP2Config.SendPingTimeout": 2 * intervalMs,
          "http.HTTP2Config.PingTimeout": timeoutMs,
        },
        "grpc-go-server": {
          "keepalive.ServerParameters.Time": 2 * intervalMs,
          "keepalive.ServerParameters.Timeout": timeoutMs,
          // grpc-go's and grpc-java's servers enforce the same ping policy as gRPC core's.
          "keepalive.EnforcementPolicy.MinTime": Math.floor(intervalMs / 2),
          "keepalive.EnforcementPolicy.PermitWithoutStream": true,
        },
        "grpc-java-server": {
          "NettyServerBuilder.keepAliveTime": 2 * intervalMs,
          "NettyServerBuilder.keepAliveTimeout": timeoutMs,
          "NettyServerBuilder.permitKeepAliveTime": Math.floor(intervalMs / 2),
          "NettyServerBuilder.permitKeepAliveWithoutCalls": true,
        },
        "tonic-server": {
          "ping-interval-ms": 2 * intervalMs,
          "Server::http2_keepalive_timeout": timeoutMs,
        },
      };
    },
  },
};

/** A one-line reason a value does not fit its option, or undefined when it does. */
function badValue(option: LibraryOption, value: unknown): string | undefined {
  const int = (min: number) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= 2 ** 31 - 1
      ? undefined
      : `an integer from ${min} to 2147483647`;
  switch (option.kind) {
    case "ms":
    case "count":
      return int(0);
    case "flag":
      return value === 0 || value === 1 ? undefined : "0 or 1";
    case "boolean":
      return typeof value === "boolean" ? undefined : "true or false";
    case "json":
      return typeof value === "object" && value !== null && !Array.isArray(value) ? undefined : "a JSON object";
    case "seconds":
      return typeof value === "number" && value > 0 && value < 2 ** 31 / 1000
        ? undefined
        : "a number of seconds above 0";
  }
}

/**
 * Checks a profile's sections against the catalogue: a one-line UsageError
 * naming the first unknown stack, unknown option or bad value.
 */
export function checkSections(sections: unknown, where: string): ProfileSections {
  if (typeof sections !== "object" || sections === null || Array.isArray(sections)) {
    throw new UsageError(`${where}: a profile is a JSON object with one section per stack`);
  }
  for (const [id, section] of Object.entries(sections)) {
    const known = optionSection(id);
    if (!known) {
      throw new UsageError(
        `${where}: unknown stack "${id}"; sections are ${optionSections.map((s) => s.id).join(", ")}`,
      );
    }
    if (typeof section !== "object" || section === null || Array.isArray(section)) {
      throw new UsageError(`${where}: "${id}" must be an object of ${known.library} options`);
    }
    for (const [name, value] of Object.entries(section)) {
      const option = known.options.find((o) => o.name === name);
      if (!option) {
        throw new UsageError(
          `${where}: "${id}": unknown option "${name}"; the lab knows ${known.options.map((o) => o.name).join(", ")}`,
        );
      }
      const why = badValue(option, value);
      if (why) throw new UsageError(`${where}: "${id}" "${name}": ${JSON.stringify(value)} is not ${why}`);
    }
  }
  return sections as ProfileSections;
}

/** `--profile NAME|FILE`: a built-in by name, else a JSON file of the user's. */
export function readProfile(nameOrFile: string, s: LabSettings): Profile {
  const builtin = builtinProfiles[nameOrFile];
  if (builtin) return { name: nameOrFile, sections: builtin.sections(s) };
  let text: string;
  try {
    text = readFileSync(nameOrFile, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--profile: "${nameOrFile}" is no built-in profile (${Object.keys(builtinProfiles).join(", ")}) and no file${code && code !== "ENOENT" ? ` (${code})` : ""}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--profile ${nameOrFile}: not JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  return { name: nameOrFile, sections: checkSections(parsed, `--profile ${nameOrFile}`) };
}

/** A profile's section for a stack's role, or an empty one. */
export function sectionValues(profile: Profile, role: "client" | "server", stack: string): Record<string, OptionValue> {
  const section = sectionOf(role, stack);
  return (section && profile.sections[section.id]) ?? {};
}

/**
 * The flags that hand a stack its section: the options the program passes to
 * its library in one `--options JSON`, the ones that are the program's own
 * flags as such. Nothing for a stack the profile leaves alone.
 */
export function profileArgs(profile: Profile, role: "client" | "server", stack: string): string[] {
  const section = sectionOf(role, stack) as OptionSection | undefined;
  const values = sectionValues(profile, role, stack);
  const options: Record<string, OptionValue> = {};
  const flags: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const option = section?.options.find((o) => o.name === name);
    if (option?.via !== "flag") options[name] = value;
    else if (option.flag) flags.push(`--${option.flag.name}`, String(Math.round(Number(value) * option.flag.scale)));
    else flags.push(`--${name}`, String(value));
  }
  return [...flags, ...(Object.keys(options).length > 0 ? ["--options", JSON.stringify(options)] : [])];
}

/** A profile that is `base` with one option set: a knob case's (issue 18). */
export function withOption(base: Profile, sectionId: string, name: string, value: OptionValue): Profile {
  return {
    name: `${base.name} + ${sectionId} ${name}=${JSON.stringify(value)}`,
    sections: { ...base.sections, [sectionId]: { ...base.sections[sectionId], [name]: value } },
  };
}
