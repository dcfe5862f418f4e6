import type { Protocol } from "../../lib/client-flags.ts";
import { serverFlags } from "../../lib/server-flags.ts";
import type { LabCase } from "../catalogue/case-types.ts";
import { labCases } from "../catalogue/cases.ts";
import type { ServerStack } from "../catalogue/stacks.ts";
import { serverLetGo } from "../faults/evidence.ts";

/** The id of the user's server in flags and reports. */
export const yourServerId = "yours";

/**
 * A server already running (--target host:port, issue 28): the lab puts its
 * relay in front and injects only what the relay can (blackhole, reset, a
 * proxy's faults); it never signals it.
 */
export function createTargetServer(host: string, port: number, protocols: readonly Protocol[]): ServerStack {
  return {
    id: "target",
    program: { kind: "address", host, port },
    protocols,
    label: `your server at ${host.includes(":") ? `[${host}]` : host}:${port} (already running)`,
    refuses: [
      {
        flags: labOnly,
        why: "a setting of the lab's own Chat server (its stream, its handler, its stop path): your server's are its own",
      },
      { flags: ["--host"], why: "several backends: a running server is one" },
    ],
  };
}

/** A case the relay alone can do: no signal, restart or stall of the server, and a server there to call. */
export const relayOnly = (c: LabCase): boolean =>
  !c.noServer && !c.channel && (c.fault ?? []).every((step) => step.kind === "network");

export interface YourServerOptions {
  /** The command, with {port} (and {host}, for the cases with several backends). */
  command: string;
  /** What it speaks. Default: gRPC only. */
  protocols?: readonly Protocol[];
  /** How long it took to listen at its first start, ms (a restart's client waits for it). Default: none. */
  startMs?: number;
  /** How long a start may take, ms (a `go run` compiles first). Default: 10 s, or 10x startMs. */
  startTimeoutMs?: number;
}

/**
 * The server flags of the lab's own servers that a user's command cannot
 * take: a case that gives one (a stream's length, a handler that stalls, a
 * library's stop API, a max connection age) is not run on it.
 */
const labOnly = Object.keys(serverFlags)
  .filter((name) => name !== "port" && name !== "host")
  .map((name) => `--${name}`);

/** The user's own server as a server stack (issue 28): its command, signalled as a process group. */
export function createYourServer(options: YourServerOptions): ServerStack {
  return {
    id: yourServerId,
    program: { kind: "command", command: options.command, name: "your server command" },
    protocols: options.protocols ?? ["grpc"],
    label: `your server (${options.command})`,
    ...(options.startMs !== undefined && { startMs: options.startMs }),
    ...(options.startTimeoutMs !== undefined && { startTimeoutMs: options.startTimeoutMs }),
    refuses: [
      {
        flags: labOnly,
        why: "a setting of the lab's own Chat server (its stream, its handler, its stop path): your server's are its own",
      },
      ...(options.command.includes("{host}")
        ? []
        : [
            {
              flags: ["--host"],
              why: "the command has no {host}: backends on 127.0.0.2, 127.0.0.3 need it",
            },
          ]),
    ],
  };
}

/**
 * SIGTERM to the user's server, whatever it does with it: a graceful stop
 * lets the stream end (ok), an immediate one ends it (unavailable). The lab's
 * own shutdown cases tell its Chat servers their grace; a user's server has
 * its own, and this case measures it.
 */
export const yourSigterm: LabCase = {
  id: "sigterm",
  group: "process",
  summary: "SIGTERM to your server at message 1: its own stop path, its own grace",
  fault: [{ kind: "signal", target: "server", signal: "SIGTERM" }],
  evidence: [serverLetGo()],
  expect: {
    rule: ["ok", "unavailable"],
    cite: "PROTOCOL-HTTP2.md, GOAWAY: streams already accepted may complete (a graceful stop: ok); statuscodes.md: UNAVAILABLE for a server shutting down (an immediate one)",
  },
};

/** Cases whose fault is on the lab's own Chat server or its fault peer, never on a server of the user's. */
const notYours = new Set(["handler", "http2", "health", "server", "knob"]);

/** The kind of call the user's method makes. */
export type MethodKind = "unary" | "server-streaming" | "client-streaming" | "bidi";

/**
 * The cases that apply to the user's server and method: the server's
 * process, the network, the proxies and a channel's life, but not the cases
 * about the lab's own server (its handler, its HTTP/2 peer, its health
 * service, its view). A unary or client-streaming call has no message before
 * its end, so no fault can come "at message 1": only the cases whose fault
 * comes first (nothing listens) or on a channel's timeline run for it.
 * `refusal` says why a case's flags do not apply (plan.ts refusedBy); a
 * server the lab did not start (`target`) gets only the relay's faults.
 * Returns the cases, and why each other one is left out.
 */
export function yourCases(options: {
  kind: MethodKind;
  refusal: (c: LabCase) => string | undefined;
  health: boolean;
  target: boolean;
}): { cases: LabCase[]; why: Map<string, string> } {
  const oneMessage = options.kind === "unary" || options.kind === "client-streaming";
  const why = new Map<string, string>();
  const cases: LabCase[] = [];
  for (const c of [...labCases.filter((c) => c.group === "process"), yourSigterm, ...labCases]) {
    if (cases.some((x) => x.id === c.id) || why.has(c.id)) continue;
    const refused = options.refusal(c);
    if (notYours.has(c.group) || c.peer) why.set(c.id, "about the lab's own server");
    else if (options.target && !relayOnly(c))
      why.set(c.id, "it signals, restarts or stops the server: not a server the lab started");
    else if (refused) why.set(c.id, refused);
    else if (!options.health && (c.proxy?.variant === "health-check" || c.id.includes("health-check")))
      why.set(c.id, "it checks the server's health, and yours answers no grpc.health.v1 Check with SERVING");
    else if (oneMessage && !c.channel && c.fault && c.faultAt !== "start")
      why.set(c.id, `a ${options.kind} call has no message before its end, so no fault at message 1`);
    // A case the catalogue runs on some servers only (the proxies: behind the Connect server) runs on yours.
    else cases.push(c.servers ? { ...c, servers: undefined } : c);
  }
  return { cases, why };
}

/** Why cases are left out, one line per reason with how many: for the user's terminal. */
export function leftOutLines(why: ReadonlyMap<string, string>): string[] {
  const counts = new Map<string, number>();
  for (const reason of why.values()) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts.entries()].map(([reason, n]) => `${n} case(s) left out: ${reason}`);
}
