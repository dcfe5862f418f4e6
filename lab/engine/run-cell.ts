import type { CallResult } from "../../lib/call-report.ts";
import type { FaultStep, LabCase, LabSettings } from "../catalogue/cases.ts";
import type { ClientStack, ServerStack } from "../catalogue/stacks.ts";
import { createFaultProxy, type FaultProxy } from "../faults/fault-proxy.ts";
import type { RunRecord } from "../reports/run-record.ts";
import { type Child, listeningLine, spawnChild } from "./child-process.ts";
import { freePort } from "./free-port.ts";

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
const messageLine = /^\[\s*\d+ ms\] message \d+: ("(?:[^"\\]|\\.)*")/;
const peerFaultLine = /^fault: .* at (\d+(?:\.\d+)?)$/;

/** The client's JSON line; with --calls, the last call's, earlier ones in previousCalls. */
type ClientResult = CallResult & { previousCalls?: CallResult[] };

/**
 * One run of one cell: a fresh server on a fresh port (behind the fault
 * proxy if the case wants one), a fresh client, the fault injected the
 * moment message 1 arrives, then the client's result or, if the watchdog
 * fires first, a hang. Every process and socket it opened is closed when it
 * returns, whatever happened.
 */
export async function runCell(options: RunCellOptions): Promise<RunRecord> {
  const { labCase, settings } = options;
  const children: Child[] = [];
  let proxy: FaultProxy | undefined;
  const startServer = async (port: number, nice: number) => {
    const server = spawnChild({
      entry: options.server.entry,
      nice,
      args: [
        "--port",
        String(port),
        ...(options.server.peerOnly
          ? []
          : ["--count", String(settings.count), "--interval-ms", String(settings.intervalMs)]),
        ...(labCase.serverArgs?.(settings) ?? []),
      ],
    });
    children.push(server);
    const listening = await server.waitForLine(listeningLine, startTimeoutMs);
    // Started: its costly part (loading code) is done; from here on it must answer promptly.
    server.setNiceness(0);
    return { server, port: Number(listeningLine.exec(listening.text)?.[1]) };
  };
  try {
    let server: Child | undefined;
    let serverPort: number;
    if (labCase.noServer) {
      serverPort = await freePort();
    } else {
      ({ server, port: serverPort } = await startServer(0, startNice));
    }
    if (labCase.proxy) proxy = await createFaultProxy({ targetPort: serverPort });

    const client = spawnChild({
      entry: options.client.entry,
      nice: startNice,
      args: [
        "--port",
        String(proxy?.port ?? serverPort),
        "--protocol",
        options.client.protocol,
        "--json",
        ...(labCase.clientArgs?.(settings) ?? []),
      ],
    });
    children.push(client);
    const start = performance.now();

    const faults: RunRecord["timeline"]["faults"] = [];
    const mark = (target: string, what: string, at: number) => {
      faults.push({ target, what, atMs: Math.round(at - start) });
      return at;
    };
    // When the replacement server listened, for the restart case.
    let restartedAt: number | undefined;
    // The moment the fault happened (its last step), on this process's clock.
    let from = start;
    // The watchdog counts from the fault; without one, from message 1 plus the rest of the stream.
    // A client still silent after startTimeoutMs without message 1 has hung already.
    let watchdogAt = performance.now();
    // The client prints "calling" once its code is loaded, just before the call: from then on it
    // must run promptly (a starved client misses its own PING timeouts), ahead of other start-ups.
    const calling = client.waitForLine(/^calling /, startTimeoutMs).then(
      (line) => {
        client.setNiceness(0);
        return line.at;
      },
      () => performance.now(),
    );
    const first =
      labCase.faultAt === "start"
        ? undefined
        : await client.waitForLine(messageLine, startTimeoutMs).catch(() => undefined);

    if (labCase.faultAt === "start") {
      // The fault is there from the start: count from the call's start.
      from = await calling;
      watchdogAt = from + settings.watchdogMs;
    } else if (first && labCase.fault) {
      for (const step of labCase.fault) {
        if (client.exit) break;
        from = await injectStep(step, {
          settings,
          first: first.at,
          client,
          server,
          proxy,
          mark,
          restart: async () => {
            server?.signal("SIGKILL");
            await server?.exited;
            ({ server } = await startServer(serverPort, 0));
            restartedAt = performance.now();
            return restartedAt;
          },
        });
      }
      // After a restart the second call starts a gap later and must run its whole stream.
      watchdogAt =
        restartedAt === undefined
          ? from + settings.watchdogMs
          : restartedAt + settings.restartGapMs + settings.intervalMs * settings.count + settings.watchdogMs;
    } else if (first) {
      watchdogAt = first.at + settings.intervalMs * (settings.count - 1) + settings.watchdogMs;
    }

    const exit = await Promise.race([client.exited, sleep(watchdogAt - performance.now())]);
    const messageLines = client.lines.filter((l) => messageLine.test(l.text));
    const messagesMs = messageLines.map((l) => Math.round(l.at - start));
    const messages = messageLines.map((l) => JSON.parse(messageLine.exec(l.text)?.[1] ?? '""') as string);
    if (!exit) {
      const firedAt = performance.now();
      const forced = await client.stop();
      return {
        code: "hang",
        message: "",
        received: messagesMs.length,
        messages,
        detectMs: null,
        hung: true,
        exitMs: Math.round(forced.at - from),
        call: null,
        timeline: { messagesMs, faults, endMs: Math.round(firedAt - start) },
      };
    }
    const last = client.lines[client.lines.length - 1];
    const result = parseResult(last?.text);
    if (!result || !last) {
      const why = client.stderr().trim().split("\n").pop() ?? "";
      throw new Error(`client ended (${exit.code ?? exit.signal}) without a result line: ${why}`);
    }
    const earlier = result.previousCalls?.[result.previousCalls.length - 1];
    if (earlier && restartedAt !== undefined) {
      const secondCallAt = result.endedAt - result.elapsedMs - performance.timeOrigin;
      if (secondCallAt < restartedAt) {
        throw new Error(
          `restart: the second call started ${Math.round(restartedAt - secondCallAt)} ms before the new server listened; the machine is too busy for this restart gap`,
        );
      }
    }
    return {
      code: result.code,
      message: earlier
        ? `first call: ${earlier.code} "${earlier.message}"; second call: ${result.message || "ok"}`
        : result.message,
      received: result.received,
      messages,
      // Timed by the client's own clock (same machine, same epoch), not by when its line got here:
      // on a busy machine reading the line can lag by tens of ms. After a restart: the second
      // call's time to its first message, i.e. how fast the client recovered.
      detectMs: earlier
        ? result.firstMessageMs
        : faults.length === 0
          ? result.elapsedMs
          : Math.max(0, Math.round(result.endedAt - (performance.timeOrigin + from))),
      hung: false,
      exitMs: Math.round(exit.at - from),
      call: { elapsedMs: result.elapsedMs, arrivalsMs: result.arrivalsMs },
      timeline: { messagesMs, faults, endMs: Math.round(last.at - start) },
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await proxy?.close();
  }
}

interface StepContext {
  settings: LabSettings;
  /** When message 1 arrived. */
  first: number;
  client: Child;
  server: Child | undefined;
  proxy: FaultProxy | undefined;
  /** Records a step on the timeline and returns `at`. */
  mark(target: string, what: string, at: number): number;
  /** Kills the server and starts a new one on its port; resolves when it listens. */
  restart(): Promise<number>;
}

/** Does one fault step and returns when it took effect (performance.now() clock). */
async function injectStep(step: FaultStep, ctx: StepContext): Promise<number> {
  switch (step.kind) {
    case "signal": {
      const delay = step.afterMs?.(ctx.settings) ?? 0;
      if (delay > 0) await Promise.race([sleep(delay), ctx.client.exited]);
      (step.target === "server" ? ctx.server : ctx.client)?.signal(step.signal);
      return ctx.mark(step.target, step.signal, performance.now());
    }
    case "proxy":
      ctx.proxy?.setMode(step.mode);
      return ctx.mark("network", step.mode, performance.now());
    case "stall":
      // The handler went silent right after sending message 1.
      return ctx.mark("server", "stall", ctx.first);
    case "restart": {
      const killed = ctx.mark("server", "SIGKILL", performance.now());
      const listening = await ctx.restart();
      ctx.mark("server", "restarted", listening);
      return killed;
    }
    case "peer": {
      // The fault peer says when it did it, by the epoch; take that rather than when we read the line.
      const line = await ctx.server?.waitForLine(peerFaultLine, startTimeoutMs).catch(() => undefined);
      const epoch = Number(peerFaultLine.exec(line?.text ?? "")?.[1] ?? Number.NaN);
      const at = Number.isNaN(epoch) ? performance.now() : epoch - performance.timeOrigin;
      return ctx.mark("server", "fault", at);
    }
  }
}

function parseResult(text: string | undefined): ClientResult | undefined {
  if (!text?.startsWith("{")) return undefined;
  try {
    return JSON.parse(text) as ClientResult;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<undefined>((resolve) => setTimeout(resolve, Math.max(0, ms)));
