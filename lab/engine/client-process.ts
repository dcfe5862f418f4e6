import type { CallsRecord } from "../../lib/run-calls.ts";
import { epochMs } from "../../lib/wall-clock.ts";
import { type ClientStack, clientProgram } from "../catalogue/stacks.ts";
import type { ArrivedMessage, CallHandle } from "./call-handle.ts";
import { type Child, spawnChild } from "./child-process.ts";

/** Niceness while a client process loads (see ChildOptions.nice). */
const startNice = 10;
/** Signals a process gets from its own faults, never from the lab (which sends KILL, STOP, CONT, INT, TERM). */
/** Signals a process dies of by its own fault, not the lab's: what the client did. */
export const crashSignals: NodeJS.Signals[] = ["SIGILL", "SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGTRAP"];
const messageLine = /^\[\s*\d+ ms\] message (\d+): ("(?:[^"\\]|\\.)*")/;
const callingLine = /^calling .*\(pid \d+(?:, call (\d+) of \d+)?\)$/;

/**
 * A call made by a client process of its own: for a fault that acts on the
 * client process (Ctrl-C), and for every run under --isolate. Its message
 * times are when the lab read the lines; its end comes from the client's
 * own clock (endedAt in its --json line).
 */
export function startClientProcess(stack: ClientStack, args: string[]): CallHandle {
  const program = clientProgram(stack);
  const child: Child = spawnChild({
    account: `${stack.id} process`,
    entry: program.program,
    external: program.external,
    nice: startNice,
    args: [...program.prefix, ...args, "--json"],
  });
  const starts: number[] = [];
  const messages: ArrivedMessage[] = [];
  let call = 1;
  child.onLine((line) => {
    const calling = callingLine.exec(line.text);
    if (calling) {
      call = Number(calling[1] ?? 1);
      starts.push(line.at);
      // Loaded: from here on it must run promptly (a starved client misses its own PING timeouts).
      child.setNiceness(0);
      return;
    }
    const m = messageLine.exec(line.text);
    if (m) messages.push({ call, index: Number(m[1]), text: JSON.parse(m[2]) as string, at: line.at });
  });
  const result: Promise<CallsRecord> = child.exited.then((exit) => {
    const last = child.lines[child.lines.length - 1]?.text ?? "";
    if (last.startsWith("{")) {
      try {
        return JSON.parse(last) as CallsRecord;
      } catch {
        // Reported below.
      }
    }
    /** The record of a client that died of its own doing, not the lab's: that is what it did. */
    const crashed = (message: string): CallsRecord => {
      const first = messages[0]?.at;
      return {
        client: stack.client,
        protocol: stack.protocol,
        code: "crashed",
        grpcCode: -1,
        message,
        received: messages.length,
        firstMessageMs: first !== undefined && starts[0] !== undefined ? Math.round(first - starts[0]) : null,
        elapsedMs: starts[0] !== undefined ? Math.round(exit.at - starts[0]) : 0,
        arrivalsMs: messages.map((m) => Math.round(m.at - (starts[0] ?? m.at))),
        endedAt: epochMs(exit.at),
      };
    };
    if (exit.signal && crashSignals.includes(exit.signal)) return crashed(`the client process died of ${exit.signal}`);
    // Killed by an error nobody listened for (Node's own message, exit 1): the library's doing, as
    // a signal would be (issue 18: connect-node 2.1.2 after a PING timeout).
    const stderr = child.stderr();
    if (exit.code === 1 && /Unhandled 'error' event|uncaughtException/.test(stderr)) {
      const error = stderr.split("\n").find((l) => /^[\w$]*Error\b.*:/.test(l.trim()));
      return crashed(`the client process died of an unhandled 'error' event: ${error?.trim() ?? "an error"}`);
    }
    const why = stderr.trim().split("\n").pop() ?? "";
    throw new Error(
      `${stack.id} client ended (${exit.code ?? exit.signal}) without a result line${why ? `: ${why}` : ""}`,
    );
  });
  result.catch(() => {});
  let settled = false;
  void result.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  const waitFor = async (get: () => number | undefined, what: string, timeoutMs: number): Promise<number> => {
    for (const deadline = performance.now() + timeoutMs; ; ) {
      const at = get();
      if (at !== undefined) return at;
      if (settled || child.exit) throw new Error(`${stack.id} client ended before its ${what}`);
      if (performance.now() > deadline) throw new Error(`${stack.id} client: no ${what} within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise((resolve) => child.onLine(resolve)),
        child.exited,
        new Promise((resolve) => {
          timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
        }),
      ]);
      clearTimeout(timer);
    }
  };
  return {
    label: `${stack.id} client process ${child.pid}`,
    starts,
    messages,
    result,
    get settled() {
      return settled;
    },
    firstMessage: (timeoutMs) => waitFor(() => messages[0]?.at, "message 1", timeoutMs),
    started: (timeoutMs) => waitFor(() => starts[0], "call start", timeoutMs),
    async abandon() {
      await child.stop();
    },
    process: {
      pid: child.pid,
      signal: (signal) => child.signal(signal),
      exitedAt: () => child.exit?.at,
      exit: () => child.exit,
    },
  };
}
