import type { CallsRecord } from "../../lib/run-calls.ts";
import { codeName, codeNames } from "../../lib/status-code.ts";
import { epochMs } from "../../lib/wall-clock.ts";
import type { ClientStack } from "../catalogue/stacks.ts";
import type { TapConnection } from "../faults/relay.ts";
import type { ArrivedMessage, CallHandle } from "./call-handle.ts";
import { spawnChild } from "./child-process.ts";

/** How often the tap's record is read for the client's messages, ms. */
const pollMs = 10;

/**
 * The result a user's client command reports (issue 28): its last line when
 * that is JSON with a `code` (a gRPC code's name, "UNAVAILABLE" or
 * "unavailable", or its number), else its exit status: 0 is ok, anything
 * else "failed" with the status and its last line of stderr.
 */
export function commandResult(
  lastLine: string,
  exit: { code: number | null; signal: string | null },
  stderr: string,
): { code: string; message: string } {
  if (lastLine.trim().startsWith("{")) {
    try {
      const said = JSON.parse(lastLine) as { code?: unknown; message?: unknown };
      const code =
        typeof said.code === "number"
          ? codeName(said.code)
          : typeof said.code === "string"
            ? said.code.toLowerCase().replace(/^status\./, "")
            : undefined;
      if (code !== undefined && codeNames.includes(code))
        return { code, message: typeof said.message === "string" ? said.message : "" };
    } catch {
      // Not JSON after all: the exit status says it.
    }
  }
  if (exit.code === 0) return { code: "ok", message: "" };
  const last = stderr.trim().split("\n").pop() ?? "";
  return {
    code: "failed",
    message: `${exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`}${last ? `: ${last}` : ""}`,
  };
}

/**
 * One run of the user's own client command against the lab's server (issue
 * 28). It prints nothing the lab can rely on, so its call is seen on the
 * wire: it starts with its first request's HEADERS through the relay, and
 * each message is an envelope of the server's DATA on that stream, timed
 * when the relay passed it on; its end is its exit (or its JSON last line).
 */
export function startCommandClient(
  stack: ClientStack,
  args: string[],
  connections: (() => readonly TapConnection[]) | undefined,
): CallHandle {
  const child = spawnChild({ account: `${stack.id} process`, entry: stack.program, args });
  // No relay (nothing listens: no-server): the call starts with the process.
  const starts: number[] = connections ? [] : [performance.now()];
  const messages: ArrivedMessage[] = [];
  /** Reads the tap: the first request stream's start and the server's messages on it. */
  const read = () => {
    for (const conn of connections?.() ?? []) {
      const headers = conn.frames.find((f) => f.dir === "c2s" && f.type === "HEADERS");
      if (!headers) continue;
      if (starts.length === 0) starts.push(headers.at);
      let index = messages.length;
      const seen = conn.frames
        // (A frame the relay dropped, a blackhole's, never reached the client.)
        .filter((f) => f.dir === "s2c" && f.type === "DATA" && f.stream === headers.stream && !f.dropped)
        .flatMap((f) => (f.envelopes ?? []).filter((e) => e.kind === "message").map(() => f.at));
      for (const at of seen.slice(messages.length)) {
        messages.push({ call: 1, index: ++index, text: "", at });
      }
      return;
    }
  };
  const timer = setInterval(read, pollMs);
  const result: Promise<CallsRecord> = child.exited.then((exit) => {
    clearInterval(timer);
    read();
    const start = starts[0] ?? exit.at;
    const { code, message } = commandResult(child.lines[child.lines.length - 1]?.text ?? "", exit, child.stderr());
    return {
      client: stack.client,
      protocol: stack.protocol,
      code,
      grpcCode: codeNames.indexOf(code),
      message,
      received: messages.length,
      firstMessageMs: messages[0] ? Math.round(messages[0].at - start) : null,
      elapsedMs: Math.round(exit.at - start),
      arrivalsMs: messages.map((m) => Math.round(m.at - start)),
      endedAt: epochMs(exit.at),
    };
  });
  let settled = false;
  void result.finally(() => {
    settled = true;
  });
  const waitFor = async (get: () => number | undefined, what: string, timeoutMs: number): Promise<number> => {
    for (const deadline = performance.now() + timeoutMs; ; ) {
      read();
      const at = get();
      if (at !== undefined) return at;
      if (child.exit) throw new Error(`${stack.id} client ended before its ${what}`);
      if (performance.now() > deadline) throw new Error(`${stack.id} client: no ${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
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
      clearInterval(timer);
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
