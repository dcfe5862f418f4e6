import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import type { Caller } from "./caller.ts";
import { type Flags, parseFlags } from "./cli.ts";
import {
  type CallSettings,
  type ClientSettings,
  callFlagNames,
  clientFlags,
  type Protocol,
  readClientSettings,
} from "./client-flags.ts";
import { runCallSequence } from "./run-calls.ts";
import { epochMs } from "./wall-clock.ts";

/**
 * The client agent: a long-lived client process that makes many calls at
 * once for the lab, each on a transport or channel of its own (issue 11: a
 * run costs its waiting, not a process). It speaks a line protocol on
 * stdin/stdout, one JSON object per line, that a client in another language
 * speaks too (docs/agent-protocol.md):
 *
 *   in:  {"op":"call","id":"r1","args":["--port","4000","--protocol","grpc"]}
 *        {"op":"cancel","id":"r1"}      {"op":"stats"}
 *        {"op":"open","id":"ch1","args":[...]}   a channel that lives on (issue 17)
 *        {"op":"call","id":"r2","channel":"ch1","args":["--timeout-ms","500"]}
 *        {"op":"close","id":"ch1"}
 *   out: {"event":"ready","client":"connect","pid":123}
 *        {"id":"ch1","event":"opened"}   {"id":"ch1","event":"closed"}
 *        {"id":"r1","event":"start","call":1,"at":1795000000000.1}
 *        {"id":"r1","event":"message","call":1,"index":1,"text":"...","at":...}
 *        {"id":"r1","event":"end","result":{...the --json record...}}
 *        {"id":"r1","event":"error","message":"..."}
 *        {"event":"stats","eventLoopDelayMs":{"p50":...,"p99":...,"max":...},"calls":N}
 *
 * `args` are the client's own flags (--json, --agent and --help aside); a
 * call on a channel takes only the flags a call sets for itself
 * (callFlagNames: its deadline, wait-for-ready, ...). Times are ms since the
 * epoch by this process's clock, so that the lab can time a call against a
 * fault without the delay of reading the line.
 */
export interface ClientAgentOptions {
  /** Client stack name, as in its JSON records. */
  client: string;
  /** Program name for error messages. */
  program: string;
  /** The protocols this stack speaks. */
  protocols: readonly Protocol[];
  /** A caller on a transport or channel of its own. */
  createCaller(settings: ClientSettings): Caller;
  /** Throws a UsageError for settings this stack has no way to honour (before the call starts). Default: none. */
  refuse?: (settings: ClientSettings) => void;
}

/** The flags a call on a channel takes, and the settings they make. */
const callFlags = Object.fromEntries(Object.entries(clientFlags).filter(([name]) => callFlagNames.includes(name)));
const callSettingKeys: [keyof CallSettings, string[]][] = [
  ["method", ["health", "watch-health"]],
  ["healthService", ["health-service"]],
  ["name", ["name"]],
  ["text", ["text"]],
  ["timeoutMs", ["timeout-ms"]],
  ["waitForReady", ["wait-for-ready"]],
];

export function runClientAgent(options: ClientAgentOptions): void {
  const send = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
  // Calls share this event loop: the lab reads how late its timers ran, to show they did not delay one
  // another. A 20 ms timer, not 5: the watch itself must not cost the idle agent much CPU (issue 29).
  const resolutionMs = 20;
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  const running = new Map<string, AbortController>();
  /** Channels the lab opened, by id: a caller that lives across calls (issue 17). */
  const channels = new Map<string, { caller: Caller; settings: ClientSettings }>();
  let calls = 0;
  const fail = (id: string, e: unknown) =>
    send({ id, event: "error", message: e instanceof Error ? e.message : String(e) });

  /** The flags of a command, or undefined after saying why they are refused. */
  const flagsOf = (id: string, args: unknown, flags = clientFlags): Flags | undefined => {
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
      send({ id, event: "error", message: "args must be a list of strings" });
      return undefined;
    }
    if (args.some((a) => a === "--agent" || a === "--help" || a === "-h")) {
      send({ id, event: "error", message: "--agent and --help are not call flags" });
      return undefined;
    }
    try {
      return parseFlags({ program: options.program, summary: "", flags, argv: args });
    } catch (e) {
      fail(id, e);
      return undefined;
    }
  };

  const call = async (id: string, args: unknown, channelId: string | undefined) => {
    const channel = channelId === undefined ? undefined : channels.get(channelId);
    if (channelId !== undefined && !channel) {
      send({ id, event: "error", message: `no open channel "${channelId}"` });
      return;
    }
    if (channel && Array.isArray(args)) {
      const theChannels = args.find(
        (a) => typeof a === "string" && a.startsWith("--") && !callFlagNames.includes(a.slice(2).split("=")[0]),
      );
      if (theChannels) {
        send({ id, event: "error", message: `${theChannels} is the channel's: give it when it opens` });
        return;
      }
    }
    const flags = flagsOf(id, args, channel ? callFlags : clientFlags);
    if (!flags) return;
    let settings: ClientSettings;
    let overrides: Partial<CallSettings> = {};
    let caller: Caller;
    try {
      if (channel) {
        // The call's own flags over the channel's: the rest is the channel's.
        const own = readClientSettings(flags, options.protocols);
        // Only what the call says: the channel's settings stand for the rest.
        const said = callSettingKeys.filter(([, names]) => names.some((name) => flags[name] !== undefined));
        overrides = Object.fromEntries(said.map(([key]) => [key, own[key]]));
        settings = { ...channel.settings, ...overrides, calls: 1, callGapMs: 0 };
        caller = channel.caller;
      } else {
        settings = readClientSettings(flags, options.protocols);
        caller = options.createCaller(settings);
      }
      options.refuse?.(settings);
    } catch (e) {
      fail(id, e);
      return;
    }
    calls++;
    const abort = new AbortController();
    running.set(id, abort);
    try {
      const { record } = await runCallSequence({
        client: options.client,
        settings,
        caller,
        signal: abort.signal,
        overrides,
        out: () => {},
        onStart: (n, at) => send({ id, event: "start", call: n, at }),
        onMessage: (n, index, text, at) => send({ id, event: "message", call: n, index, text, at }),
      });
      send({ id, event: "end", result: record });
    } catch (e) {
      fail(id, e);
    } finally {
      running.delete(id);
      if (!channel) caller.close();
    }
  };

  const open = (id: string, args: unknown) => {
    if (!id || channels.has(id)) {
      send({ id, event: "error", message: "open needs a new id" });
      return;
    }
    const flags = flagsOf(id, args);
    if (!flags) return;
    try {
      const settings = readClientSettings(flags, options.protocols);
      channels.set(id, { caller: options.createCaller(settings), settings });
      send({ id, event: "opened", at: epochMs(performance.now()) });
    } catch (e) {
      fail(id, e);
    }
  };

  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    let command: { op?: unknown; id?: unknown; args?: unknown; channel?: unknown };
    try {
      command = JSON.parse(line);
    } catch {
      send({ event: "error", message: `not a JSON command: ${line.slice(0, 80)}` });
      return;
    }
    const id = typeof command.id === "string" ? command.id : "";
    switch (command.op) {
      case "call":
        if (!id || running.has(id)) send({ id, event: "error", message: "call needs a new id" });
        else void call(id, command.args, typeof command.channel === "string" ? command.channel : undefined);
        break;
      case "cancel":
        running.get(id)?.abort("cancelled by the agent's cancel command");
        break;
      case "open":
        open(id, command.args);
        break;
      case "close": {
        const channel = channels.get(id);
        channels.delete(id);
        channel?.caller.close();
        send({ id, event: channel ? "closed" : "error", ...(!channel && { message: `no open channel "${id}"` }) });
        break;
      }
      case "stats": {
        // The histogram holds whole timer periods; what a call's timer suffers is the excess.
        const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - resolutionMs) * 100) / 100);
        send({
          event: "stats",
          eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
          calls,
        });
        break;
      }
      default:
        send({ id, event: "error", message: `unknown op ${JSON.stringify(command.op)}` });
    }
  });
  // The lab is gone (or done): so is the agent, whatever calls are still open.
  lines.on("close", () => process.exit(0));
  // Ctrl-C reaches the whole process group; the lab ends its agents itself, after its own cleanup.
  process.on("SIGINT", () => {});
  send({ event: "ready", client: options.client, pid: process.pid });
}
