import type { CallResult } from "../lib/call-report.ts";
import type { LabCase, LabSettings } from "./cases.ts";
import { type Child, spawnChild } from "./child-process.ts";
import { freePort } from "./free-port.ts";
import type { RunRecord } from "./run-record.ts";
import type { ClientStack, ServerStack } from "./stacks.ts";

export interface RunCellOptions {
  labCase: LabCase;
  server: ServerStack;
  client: ClientStack;
  settings: LabSettings;
}

/** How long a program may take to start before the run is given up as broken. */
const startTimeoutMs = 10_000;
/** Niceness while a cell's processes start (see ChildOptions.nice). */
const startNice = 10;
const messageLine = /^\[\s*\d+ ms\] message \d+:/;
const listeningLine = /^listening on .*:(\d+) /;

/**
 * One run of one cell: a fresh server on a fresh port, a fresh client, the
 * fault injected the moment message 1 arrives, then the client's result or,
 * if the watchdog fires first, a hang. Every process it started has ended
 * when it returns, whatever happened.
 */
export async function runCell(options: RunCellOptions): Promise<RunRecord> {
  const { labCase, settings } = options;
  const children: Child[] = [];
  try {
    let server: Child | undefined;
    let port: number;
    if (labCase.noServer) {
      port = await freePort();
    } else {
      server = spawnChild({
        entry: options.server.entry,
        nice: startNice,
        args: [
          "--port",
          "0",
          "--count",
          String(settings.count),
          "--interval-ms",
          String(settings.intervalMs),
          ...(labCase.serverArgs?.(settings) ?? []),
        ],
      });
      children.push(server);
      const listening = await server.waitForLine(listeningLine, startTimeoutMs);
      port = Number(listeningLine.exec(listening.text)?.[1]);
    }

    const client = spawnChild({
      entry: options.client.entry,
      nice: startNice,
      args: [
        "--port",
        String(port),
        "--protocol",
        options.client.protocol,
        "--json",
        ...(labCase.clientArgs?.(settings) ?? []),
      ],
    });
    children.push(client);
    const start = performance.now();
    const targets = { server, client };

    const faults: RunRecord["timeline"]["faults"] = [];
    // The watchdog counts from the fault; without one, from message 1 plus the rest of the stream.
    let from = start;
    // A client still silent after startTimeoutMs without message 1 has hung already.
    let watchdogAt = performance.now();
    // The client may end before message 1 (no server, say): then there is nothing to inject.
    const first = await client.waitForLine(messageLine, startTimeoutMs).catch(() => undefined);
    // From here on timing matters: back to normal priority, ahead of other cells' start-ups.
    for (const child of children) child.setNiceness(0);
    if (first && labCase.fault) {
      for (const step of labCase.fault) {
        const delay = step.afterMs?.(settings) ?? 0;
        if (delay > 0) await Promise.race([sleep(delay), client.exited]);
        if (client.exit) break;
        targets[step.target]?.signal(step.signal);
        from = performance.now();
        faults.push({ target: step.target, signal: step.signal, atMs: Math.round(from - start) });
      }
      watchdogAt = from + settings.watchdogMs;
    } else if (first) {
      watchdogAt = first.at + settings.intervalMs * (settings.count - 1) + settings.watchdogMs;
    }

    const exit = await Promise.race([client.exited, sleep(watchdogAt - performance.now())]);
    const messagesMs = client.lines.filter((l) => messageLine.test(l.text)).map((l) => Math.round(l.at - start));
    if (!exit) {
      const firedAt = performance.now();
      const forced = await client.stop();
      return {
        code: "hang",
        message: "",
        received: messagesMs.length,
        detectMs: null,
        hung: true,
        exitMs: Math.round(forced.at - from),
        timeline: { messagesMs, faults, endMs: Math.round(firedAt - start) },
      };
    }
    const last = client.lines.at(-1);
    const result = parseResult(last?.text);
    if (!result || !last) {
      throw new Error(
        `client ended (${exit.code ?? exit.signal}) without a result line: ${client.stderr().trim().split("\n").pop() ?? ""}`,
      );
    }
    return {
      code: result.code,
      message: result.message,
      received: result.received,
      // Timed by the client's own clock (same machine, same epoch), not by when its line got here:
      // on a busy machine reading the line can lag by tens of ms.
      detectMs: Math.max(0, Math.round(result.endedAt - (performance.timeOrigin + from))),
      hung: false,
      exitMs: Math.round(exit.at - from),
      timeline: { messagesMs, faults, endMs: Math.round(last.at - start) },
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

function parseResult(text: string | undefined): CallResult | undefined {
  if (!text?.startsWith("{")) return undefined;
  try {
    return JSON.parse(text) as CallResult;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<undefined>((resolve) => setTimeout(resolve, Math.max(0, ms)));
