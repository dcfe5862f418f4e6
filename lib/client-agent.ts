import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import type { Caller } from "./caller.ts";
import { parseFlags } from "./cli.ts";
import { type ClientSettings, clientFlags, type Protocol, readClientSettings } from "./client-flags.ts";
import { runCallSequence } from "./run-calls.ts";

/**
 * The client agent: a long-lived client process that makes many calls at
 * once for the lab, each on a transport or channel of its own (issue 11: a
 * run costs its waiting, not a process). It speaks a line protocol on
 * stdin/stdout, one JSON object per line, that a client in another language
 * speaks too (docs/agent-protocol.md):
 *
 *   in:  {"op":"call","id":"r1","args":["--port","4000","--protocol","grpc"]}
 *        {"op":"cancel","id":"r1"}      {"op":"stats"}
 *   out: {"event":"ready","client":"connect","pid":123}
 *        {"id":"r1","event":"start","call":1,"at":1795000000000.1}
 *        {"id":"r1","event":"message","call":1,"index":1,"text":"...","at":...}
 *        {"id":"r1","event":"end","result":{...the --json record...}}
 *        {"id":"r1","event":"error","message":"..."}
 *        {"event":"stats","eventLoopDelayMs":{"p50":...,"p99":...,"max":...},"calls":N}
 *
 * `args` are the client's own flags (--json, --agent and --help aside).
 * Times are ms since the epoch by this process's clock, so that the lab can
 * time a call against a fault without the delay of reading the line.
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
}

export function runClientAgent(options: ClientAgentOptions): void {
  const send = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
  // Calls share this event loop: the lab reads how late its timers ran, to show they did not delay one another.
  const resolutionMs = 5;
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  const running = new Map<string, AbortController>();
  let calls = 0;

  const call = async (id: string, args: unknown) => {
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
      send({ id, event: "error", message: "args must be a list of strings" });
      return;
    }
    if (args.some((a) => a === "--agent" || a === "--help" || a === "-h")) {
      send({ id, event: "error", message: "--agent and --help are not call flags" });
      return;
    }
    let settings: ClientSettings;
    try {
      settings = readClientSettings(
        parseFlags({ program: options.program, summary: "", flags: clientFlags, argv: args }),
        options.protocols,
      );
    } catch (e) {
      send({ id, event: "error", message: e instanceof Error ? e.message : String(e) });
      return;
    }
    calls++;
    const abort = new AbortController();
    running.set(id, abort);
    const caller = options.createCaller(settings);
    try {
      const { record } = await runCallSequence({
        client: options.client,
        settings,
        caller,
        signal: abort.signal,
        out: () => {},
        onStart: (n, at) => send({ id, event: "start", call: n, at }),
        onMessage: (n, index, text, at) => send({ id, event: "message", call: n, index, text, at }),
      });
      send({ id, event: "end", result: record });
    } catch (e) {
      send({ id, event: "error", message: e instanceof Error ? e.message : String(e) });
    } finally {
      running.delete(id);
      caller.close();
    }
  };

  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    let command: { op?: unknown; id?: unknown; args?: unknown };
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
        else void call(id, command.args);
        break;
      case "cancel":
        running.get(id)?.abort("cancelled by the agent's cancel command");
        break;
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
