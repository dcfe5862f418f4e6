import type { CallsRecord } from "../../lib/run-calls.ts";
import { codeNames } from "../../lib/status-code.ts";
import { epochMs } from "../../lib/wall-clock.ts";
import type { ClientStack } from "../catalogue/stacks.ts";
import type { TapConnection } from "../faults/relay.ts";
import type { ArrivedMessage, CallHandle } from "./call-handle.ts";
import { type Child, spawnChild } from "./child-process.ts";
import type { AgentChannel } from "./client-agent.ts";
import { commandResult } from "./command-client.ts";

/** One call of the user's client, from its line: when it started and ended, on the lab's clock. */
export interface CommandCall {
  start: number;
  end: number;
  code: string;
  message: string;
}

/** A call the user's client reported, with the label of the timeline's part it started in. */
export interface LabelledCall {
  label: string;
  handle: CallHandle;
  /** Set for the call still under way at the end, past the watchdog: a hang. */
  abandonedAt?: number;
}

/**
 * The user's own client on a channel scenario's timeline (issue 28): a command
 * that makes calls until it is stopped, each call's end one line of JSON,
 * `{"code": "UNAVAILABLE", "ms": 12}` (its code, a name or a number, and how
 * long the call took; without `ms` it started when the call before it ended).
 * The lab makes no call in it: the scenario's calls mark the timeline's parts,
 * and each of the client's calls is placed on the timeline by its start.
 */
export interface CommandChannel extends AgentChannel {
  readonly kind: "command";
  readonly child: Child;
  /** Its calls so far, in the order they ended. */
  readonly reported: readonly CommandCall[];
  /**
   * Resolves when a call that started at `since` or later has ended (its line), or (`ended`) any
   * call has ended since then; or the process has.
   */
  callAfter(since: number, ended?: boolean): Promise<void>;
  /**
   * Its calls as the scene's record takes them: those that started before `faultAt` labelled
   * "before", the others `watch`; a call under way at `endAt` for longer than `hangMs` is a hang.
   */
  calls(options: { faultAt: number | undefined; endAt: number; hangMs: number; watch: string }): LabelledCall[];
}

/** How often the tap's record is read for a message, ms. */
const pollMs = 10;

/** How late a call's line may reach the lab after its end, for its stream on the wire to be its own, ms. */
const lineLateMs = 250;

export function openCommandChannel(
  stack: ClientStack,
  args: string[],
  connections: () => readonly TapConnection[],
): CommandChannel {
  const child = spawnChild({ account: `${stack.id} process`, entry: stack.program, args });
  const opened = performance.now();
  const reported: CommandCall[] = [];
  const waiters: (() => void)[] = [];
  child.onLine((line) => {
    if (!line.text.trim().startsWith("{")) return;
    const { code, message } = commandResult(line.text, { code: 1, signal: null }, "");
    if (code === "failed") return;
    let ms: unknown;
    try {
      ms = (JSON.parse(line.text) as { ms?: unknown }).ms;
    } catch {
      return;
    }
    const previousEnd = reported[reported.length - 1]?.end ?? opened;
    const start = typeof ms === "number" && ms >= 0 ? Math.max(opened, line.at - ms) : previousEnd;
    reported.push({ start, end: line.at, code, message });
    for (const wake of waiters.splice(0)) wake();
  });
  void child.exited.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });

  const callAfter = (since: number, ended = false) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (child.exit || reported.some((c) => (ended ? c.end : c.start + 5) >= since)) resolve();
        else waiters.push(check);
      };
      check();
    });

  /** Every request stream the client opened, as the tap saw it: when, and the server's messages on it. */
  const streams = () =>
    connections()
      .flatMap((conn) =>
        conn.frames
          .filter((f) => f.dir === "c2s" && f.type === "HEADERS")
          .map((h) => ({
            at: h.at,
            messages: conn.frames
              .filter((f) => f.dir === "s2c" && f.type === "DATA" && f.stream === h.stream && !f.dropped)
              .flatMap((f) => (f.envelopes ?? []).filter((e) => e.kind === "message").map(() => f.at)),
          })),
      )
      .sort((a, b) => a.at - b.at);

  /** A call's handle, for a call that ended (its record) or one the lab gave up on (rejected). */
  const handleOf = (
    start: number,
    end: number,
    result: CommandCall | undefined,
    arrivals: readonly number[],
  ): CallHandle => {
    const messages: ArrivedMessage[] = arrivals
      .filter((at) => at <= end)
      .map((at, i) => ({ call: 1, index: i + 1, text: "", at }));
    const record: Promise<CallsRecord> = result
      ? Promise.resolve({
          client: stack.client,
          protocol: stack.protocol,
          code: result.code,
          grpcCode: codeNames.indexOf(result.code),
          message: result.message,
          received: messages.length,
          firstMessageMs: messages[0] ? Math.round(messages[0].at - start) : null,
          elapsedMs: Math.round(end - start),
          arrivalsMs: messages.map((m) => Math.round(m.at - start)),
          endedAt: epochMs(end),
        })
      : Promise.reject(new Error("still under way when the lab gave up on it"));
    record.catch(() => undefined);
    return {
      label: `${stack.id} client process ${child.pid}`,
      starts: [start],
      messages,
      result: record,
      settled: true,
      firstMessage: async () => messages[0]?.at ?? Promise.reject(new Error("no message")),
      started: async () => start,
      abandon: async () => {},
    };
  };

  return {
    kind: "command",
    id: `${stack.id} process ${child.pid}`,
    child,
    reported,
    callAfter,
    /**
     * The scenario's call: the client's next call to start from now on, for the steps that wait
     * for one (its end, or its first message on the wire).
     */
    call(): CallHandle {
      const since = performance.now();
      const next = () => reported.find((c) => c.start >= since - 5);
      const result = callAfter(since).then(() => {
        const c = next();
        if (!c) throw new Error(`${stack.id} client ended before its next call`);
        return handleOf(c.start, c.end, c, []).result;
      });
      result.catch(() => undefined);
      let settled = false;
      const done = () => {
        settled = true;
      };
      result.then(done, done);
      const firstMessage = async (timeoutMs: number) => {
        for (const deadline = performance.now() + timeoutMs; performance.now() < deadline; ) {
          // The server's first message on a stream the client opened from `since` on (5 ms slack).
          const first = Math.min(...streams().flatMap((w) => (w.at >= since - 5 ? w.messages : [])));
          if (first < Number.POSITIVE_INFINITY) return first;
          if (child.exit) break;
          await new Promise((resolve) => setTimeout(resolve, pollMs));
        }
        throw new Error(`${stack.id} client: no message within ${timeoutMs} ms`);
      };
      return {
        label: `${stack.id} client process ${child.pid}`,
        starts: [since],
        messages: [],
        result,
        get settled() {
          return settled;
        },
        firstMessage,
        started: async () => since,
        abandon: async () => {},
      };
    },
    calls({ faultAt, endAt, hangMs, watch }) {
      const labelOf = (start: number) => (faultAt !== undefined && start < faultAt ? "before" : watch);
      // Each call's stream on the wire: the earliest one not yet taken that began between a little
      // before its start (its line may reach the lab late on a busy machine, and its start is its
      // line's time less its ms) and its end; an ok call takes one the server answered. A call
      // that failed before it reached the wire (nothing listens) takes none.
      const taken = new Set<number>();
      const wire = streams();
      const out: LabelledCall[] = reported.map((c) => {
        const fits = wire
          .map((w, i) => ({ ...w, i }))
          .filter((w) => !taken.has(w.i) && w.at >= c.start - lineLateMs && w.at <= c.end);
        const match = (c.code === "ok" ? fits.find((w) => w.messages.length > 0) : undefined) ?? fits[0];
        if (match) taken.add(match.i);
        const start = match ? Math.min(match.at, c.start) : c.start;
        return { label: labelOf(start), handle: handleOf(start, c.end, c, match?.messages ?? []) };
      });
      // The call under way at the end: a hang when it has been waiting past the watchdog.
      const lastEnd = reported[reported.length - 1]?.end ?? opened;
      const exitedAt = child.exit?.at;
      if ((exitedAt === undefined || exitedAt > endAt) && endAt - lastEnd > hangMs) {
        out.push({ label: labelOf(lastEnd), handle: handleOf(lastEnd, endAt, undefined, []), abandonedAt: endAt });
      }
      return out;
    },
    async close() {
      await child.stop();
    },
  };
}
