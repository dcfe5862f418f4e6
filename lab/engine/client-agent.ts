import type { CallsRecord } from "../../lib/run-calls.ts";
import { type ClientStack, clientProgram } from "../catalogue/stacks.ts";
import type { ArrivedMessage, CallHandle } from "./call-handle.ts";
import { fromEpoch } from "./call-handle.ts";
import { type Child, type Exit, spawnChild } from "./child-process.ts";
import { within } from "./within.ts";

/** How long an agent may take to start before the lab gives up on it. */
const readyTimeoutMs = 15_000;
/**
 * A browser agent's: it says ready once its browser runs. Measured on 2 cores: Firefox ESR alone
 * takes ~10 s to start here, and two Firefox and two Chromium starting together took past 15 s
 * (every run of one agent a lab error).
 */
const browserReadyTimeoutMs = 45_000;

/** What an agent says, one JSON object per line (lib/client-agent.ts, docs/agent-protocol.md). */
interface AgentEvent {
  event: "ready" | "start" | "message" | "end" | "error" | "stats" | "opened" | "closed";
  id?: string;
  call?: number;
  index?: number;
  text?: string;
  at?: number;
  result?: CallsRecord;
  message?: string;
  eventLoopDelayMs?: { p50: number; p99: number; max: number };
  calls?: number;
}

interface PendingCall {
  onEvent(event: AgentEvent): void;
  fail(reason: string): void;
}

/** What an agent reported about itself at the end: how late its timers ran. */
export interface AgentStats {
  client: string;
  /** The client stack it serves ("connect/grpc"): one agent per stack. */
  stack: string;
  pid: number;
  calls: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number } | null;
}

/** A channel an agent opened for the lab (issue 17): calls on it share its connection(s). */
export interface AgentChannel {
  readonly id: string;
  /** Starts a call on the channel with the call's own flags (its deadline, wait-for-ready). */
  call(args: string[]): CallHandle;
  /** Closes the channel and its connections. */
  close(): Promise<void>;
}

/** A long-lived client process that makes the lab's calls, many at once, each on its own connection. */
export interface Agent {
  readonly pid: number;
  readonly alive: boolean;
  /** How its process ended, once it has. */
  readonly exit: Exit | undefined;
  readonly ready: Promise<void>;
  /** Starts a call with the client's own flags. */
  call(args: string[]): CallHandle;
  /** Opens a channel with the client's flags (the channel's: keepalive, target, ...); rejects with the agent's reason. */
  open(args: string[]): Promise<AgentChannel>;
  stats(): Promise<AgentStats>;
  /** Ends the agent's process. */
  stop(): Promise<void>;
}

let nextCallId = 1;

/** The lab's side of one agent process: its commands, and who waits for which event. */
interface AgentLink {
  stack: ClientStack;
  child: Child;
  ready: Promise<void>;
  pending: Map<string, PendingCall>;
  /** Sends a command line; false once the agent is gone. */
  command(line: object): boolean;
}

/** Starts one agent: the client program with --agent (a browser's, with the CA it is to trust: `browserArgs`). */
function startAgent(stack: ClientStack, browserArgs: readonly string[]): Agent {
  const program = clientProgram(stack);
  const child: Child = spawnChild({
    account: `${stack.id} agent`,
    entry: program.program,
    external: program.external,
    args: [...program.prefix, ...(stack.browser ? browserArgs : []), "--agent"],
    // A browser agent's browser ends with it, however it ends (issue 19).
    tree: stack.browser !== undefined,
    stdin: true,
    keepLines: false,
  });
  const pending = new Map<string, PendingCall>();
  const statsWaiters: ((e: AgentEvent) => void)[] = [];
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const readyWithinMs = stack.browser ? browserReadyTimeoutMs : readyTimeoutMs;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {});
  const timer = setTimeout(
    () => failReady(new Error(`${stack.id} agent not ready after ${readyWithinMs} ms`)),
    readyWithinMs,
  );

  child.onLine((line) => {
    let event: AgentEvent;
    try {
      event = JSON.parse(line.text) as AgentEvent;
    } catch {
      return;
    }
    if (event.event === "ready") {
      clearTimeout(timer);
      markReady();
    } else if (event.event === "stats") {
      statsWaiters.shift()?.(event);
    } else if (event.id !== undefined) {
      pending.get(event.id)?.onEvent(event);
    }
  });
  void child.exited.then((exit) => {
    clearTimeout(timer);
    // An uncaught exception ends with Node's version line; the error itself is the line that names it.
    const lines = child.stderr().trim().split("\n");
    const stderr = lines.find((l) => /^\w*(Error|Exception)\b|^\s*\[?\w+Error/.test(l)) ?? lines.pop() ?? "";
    if (process.env.LAB_DEBUG) process.stderr.write(`agent ${child.pid} stderr:\n${child.stderr()}\n`);
    const why = `the ${stack.id} agent (pid ${child.pid}) died (${exit.signal ?? `exit ${exit.code}`})${stderr ? `: ${stderr}` : ""}`;
    failReady(new Error(why));
    for (const call of pending.values()) call.fail(why);
    pending.clear();
    for (const wake of statsWaiters.splice(0)) wake({ event: "stats" });
  });

  const link: AgentLink = {
    stack,
    child,
    ready,
    pending,
    command: (line) => child.write(`${JSON.stringify(line)}\n`),
  };
  return {
    pid: child.pid,
    get alive() {
      return child.exit === undefined;
    },
    get exit() {
      return child.exit;
    },
    ready,
    call: (args) => agentCall(link, args),
    open: (args) => openChannel(link, args),
    async stop() {
      await child.stop();
    },
    async stats() {
      if (child.exit)
        return { client: stack.client, stack: stack.id, pid: child.pid, calls: 0, eventLoopDelayMs: null };
      const event = await new Promise<AgentEvent>((resolve) => {
        statsWaiters.push(resolve);
        child.write(`${JSON.stringify({ op: "stats" })}\n`);
      });
      return {
        client: stack.client,
        stack: stack.id,
        pid: child.pid,
        calls: event.calls ?? 0,
        eventLoopDelayMs: event.eventLoopDelayMs ?? null,
      };
    },
  };
}

/** A waiter for the first of some moment: resolved with its time, or rejected with why it cannot come. */
type Waiter = { resolve: (at: number) => void; reject: (e: Error) => void };

/** One call in an agent (on a channel it opened, when `channel` names one), as a CallHandle. */
function agentCall(link: AgentLink, args: string[], channel?: string): CallHandle {
  const { stack, pending } = link;
  const id = `c${nextCallId++}`;
  const starts: number[] = [];
  const messages: ArrivedMessage[] = [];
  const firstWaiters = new Set<Waiter>();
  const startWaiters = new Set<Waiter>();
  let settled = false;
  let failure: Error | undefined;
  let resolveResult: (r: CallsRecord) => void = () => {};
  let rejectResult: (e: Error) => void = () => {};
  const result = new Promise<CallsRecord>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  result.catch(() => {});
  const finish = (error?: Error) => {
    if (settled) return;
    settled = true;
    pending.delete(id);
    failure = error ?? new Error(`${stack.id}: the call ended before message 1`);
    for (const w of [...firstWaiters, ...startWaiters]) w.reject(failure);
    firstWaiters.clear();
    startWaiters.clear();
  };
  pending.set(id, {
    onEvent(event) {
      if (event.event === "start" && event.at !== undefined) {
        starts.push(fromEpoch(event.at));
        if (starts.length === 1) for (const w of startWaiters) w.resolve(starts[0]);
        startWaiters.clear();
      } else if (event.event === "message" && event.at !== undefined) {
        const message = {
          call: event.call ?? 1,
          index: event.index ?? 0,
          text: event.text ?? "",
          at: fromEpoch(event.at),
        };
        messages.push(message);
        if (messages.length === 1) for (const w of firstWaiters) w.resolve(message.at);
        firstWaiters.clear();
      } else if (event.event === "end" && event.result) {
        finish();
        resolveResult(event.result);
      } else if (event.event === "error") {
        const error = new Error(`${stack.id} agent: ${event.message ?? "error"}`);
        finish(error);
        rejectResult(error);
      }
    },
    fail(reason) {
      const error = new Error(reason);
      finish(error);
      rejectResult(error);
    },
  });
  const wait = (set: Set<Waiter>, done: () => number | undefined, what: string, timeoutMs: number) => {
    const at = done();
    if (at !== undefined) return Promise.resolve(at);
    if (failure) return Promise.reject(failure);
    return new Promise<number>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      timer = setTimeout(() => {
        set.delete(waiter);
        reject(new Error(`${stack.id}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      set.add(waiter);
    });
  };
  void link.ready.then(
    () => {
      if (!link.command({ op: "call", id, args, ...(channel && { channel }) }))
        pending.get(id)?.fail(`the ${stack.id} agent is gone`);
    },
    (e: Error) => pending.get(id)?.fail(e.message),
  );
  return {
    label: `${stack.id} agent call ${id}`,
    starts,
    messages,
    result,
    get settled() {
      return settled;
    },
    firstMessage: (timeoutMs) => wait(firstWaiters, () => messages[0]?.at, "message", timeoutMs),
    started: (timeoutMs) => wait(startWaiters, () => starts[0], "call start", timeoutMs),
    async abandon() {
      if (settled) return;
      link.command({ op: "cancel", id });
      // The call ends canceled and its transport closes; an agent that cannot say so is dead.
      await within(
        result.catch(() => {}),
        2000,
      );
      finish(new Error("abandoned"));
    },
  };
}

/** Opens a channel in the agent (issue 17); rejects with the agent's reason. */
async function openChannel(link: AgentLink, args: string[]): Promise<AgentChannel> {
  await link.ready;
  const { stack, pending, child } = link;
  const id = `ch${nextCallId++}`;
  const answer = (op: string) =>
    new Promise<AgentEvent>((resolve, reject) => {
      pending.set(id, {
        onEvent: (event) => {
          pending.delete(id);
          resolve(event);
        },
        fail: (reason) => {
          pending.delete(id);
          reject(new Error(reason));
        },
      });
      if (!link.command({ op, id, ...(op === "open" && { args }) })) reject(new Error(`the ${stack.id} agent is gone`));
    });
  const opened = await answer("open");
  if (opened.event !== "opened") throw new Error(`${stack.id} agent: ${opened.message ?? "could not open a channel"}`);
  return {
    id,
    call: (callArgs) => agentCall(link, callArgs, id),
    async close() {
      if (child.exit) return;
      await within(
        answer("close").catch(() => {}),
        2000,
      );
    },
  };
}

/** One live agent per client stack, replaced when it dies (its runs become lab errors with the reason). */
export interface AgentPool {
  /** The live agent for a stack, started (or restarted) as needed. */
  get(stack: ClientStack): Agent;
  /**
   * An agent of its own for one scene, ended with the pool: for a case that
   * crashes its client, whose crash must take only that scene's channels.
   */
  own(stack: ClientStack): Agent;
  /** Agents started, dead ones included (their count tells of replacements). */
  readonly started: number;
  /** Every agent still alive. */
  alive(): Agent[];
  /** Ends every agent. */
  close(): Promise<void>;
}

export interface AgentPoolOptions {
  /**
   * Flags a browser agent starts with: the CA its browser trusts (--tls-ca),
   * which a browser takes when it starts, not per call. Default: none.
   */
  browserArgs?: readonly string[];
}

export function createAgentPool(options: AgentPoolOptions = {}): AgentPool {
  const browserArgs = options.browserArgs ?? [];
  /**
   * One per client stack: connect/grpc, connect/connect and connect/grpc-web each have a connect
   * agent of their own. connect-node costs ~4 ms of CPU per call here (measured: 360 six-message
   * calls, 1.4 s), and one process carrying three stacks' channels (issue 17) fell behind its
   * timers by 100 ms (p99) while the other core had room.
   */
  const agents = new Map<string, Agent>();
  const all: Agent[] = [];
  return {
    get(stack) {
      let agent = agents.get(stack.id);
      if (!agent?.alive) {
        agent = startAgent(stack, browserArgs);
        agents.set(stack.id, agent);
        all.push(agent);
      }
      return agent;
    },
    own(stack) {
      const agent = startAgent(stack, browserArgs);
      all.push(agent);
      return agent;
    },
    get started() {
      return all.length;
    },
    alive: () => [...agents.values()].filter((a) => a.alive),
    async close() {
      await Promise.all(all.map((agent) => agent.stop()));
    },
  };
}
