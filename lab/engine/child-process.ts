import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import { setPriority } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { bundlePath, type NodeEntry } from "./build.ts";
import { descendants, procStat, treeGroups } from "./proc-stat.ts";
import { commandOf, type Program, programName } from "./programs.ts";

/** One line a child printed, with the moment it arrived (performance.now()). */
export interface Line {
  text: string;
  at: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface ChildOptions {
  /** Which program to run: a Node program's entry (its bundle in dist/), or a program in any language. */
  entry: NodeEntry | Program;
  /**
   * A program not of ours (nginx, HAProxy), or a Node for a release's bundle
   * (--versions): run this file instead of the entry, under the same
   * supervision; `entry` then only names it in messages.
   */
  external?: {
    file: string;
    name: string;
  };
  /** Its command-line flags. */
  args: string[];
  /** Flags for the program's runtime (node, python, java), before the program (e.g. --expose-gc). Default: none. */
  nodeArgs?: string[];
  /**
   * Scheduling niceness to start it with (0 to 19). Default: 0. The lab
   * starts processes at low priority so that their start-up (~0.2 s of CPU
   * each) does not slow down the processes of other cells at their moment
   * of truth, then raises them with setNiceness(0) once they are loaded.
   */
  nice?: number;
  /** Give it a stdin pipe to write() to (the client agents read commands there). Default: none. */
  stdin?: boolean;
  /** Keep every stdout line in `lines`. Default: true; an agent's many events go to onLine listeners only. */
  keepLines?: boolean;
  /** What its CPU time is counted under (childCpu): its stack and role, e.g. "grpc-java server". Default: the program's name. */
  account?: string;
  /**
   * The child starts processes of its own that must end with it (a browser
   * agent's browser, which puppeteer starts in a process group of its own,
   * issue 19): killing the child kills every process below it first, and so
   * does the supervisor if the lab dies. Default: false.
   */
  tree?: boolean;
}

export interface Child {
  readonly pid: number;
  /** What it runs, for messages: an entry, or an external program's name. */
  readonly entry: string;
  /** Every stdout line so far (none when started with keepLines: false). */
  readonly lines: readonly Line[];
  /** Calls `listener` with every stdout line from now on. */
  onLine(listener: (line: Line) => void): void;
  /** Writes to its stdin (started with stdin: true); false once it is gone. */
  write(text: string): boolean;
  /** Everything printed on stderr so far. */
  readonly stderr: () => string;
  /**
   * The first stdout line matching `pattern`, past or future (past ones only
   * from `since`, a performance.now() moment, on); rejects when the child
   * exits first or after timeoutMs.
   */
  waitForLine(pattern: RegExp, timeoutMs: number, since?: number): Promise<Line>;
  /** Settles when the process has exited. */
  readonly exited: Promise<Exit>;
  /** The exit, once it happened. */
  readonly exit: Exit | undefined;
  /** Sets the niceness; quietly does nothing where it is not allowed (raising priority needs CAP_SYS_NICE). */
  setNiceness(nice: number): void;
  /** Sends a signal (ignored once the process has exited). SIGSTOP/SIGCONT are tracked for stop(). */
  signal(signal: NodeJS.Signals): void;
  /** Ends the process for sure: SIGCONT first (a stopped process ignores everything but SIGKILL until it runs again), then SIGKILL. */
  stop(): Promise<Exit>;
}

/**
 * The children's environment: ours without NODE_EXTRA_CA_CERTS. Node reads
 * and parses that certificate file at every start (~50 ms of CPU each,
 * measured here), and the lab's programs speak cleartext on loopback only.
 */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "NODE_EXTRA_CA_CERTS"));

/** Where every child writes its TLS key log (--tls, issue 19), and the library that makes OpenSSL programs write one. */
let keyLog: { dir: string; openssl?: string } | undefined;

/**
 * From now on, each child logs the TLS secrets of its connections to one
 * file in `dir` for the wire tap (each line one append, whole: Node's
 * appendFileSync, the OpenSSL key log's one write(2) with O_APPEND; one file
 * is one stat for the tap, where a file per process was hundreds): Node
 * programs with Node's
 * --tls-keylog; the browsers a child starts (Firefox's NSS, Chromium) read
 * SSLKEYLOGFILE; the programs on the system's OpenSSL (gRPC core in Python,
 * nginx, HAProxy), which offer no key log, write to it with `openssl`
 * preloaded (lab/faults/keylog/openssl-keylog.c). None changes a byte the
 * peers exchange.
 */
export function logTlsKeys(options: { dir: string; openssl?: string } | undefined): void {
  keyLog = options;
}

/** A child's environment, with the key log under --tls. */
function envOf(native: boolean): NodeJS.ProcessEnv {
  if (!keyLog) return childEnv;
  const file = path.join(keyLog.dir, "peers.keys");
  return {
    ...childEnv,
    NODE_OPTIONS: [childEnv.NODE_OPTIONS, `--tls-keylog=${file}`].filter(Boolean).join(" "),
    SSLKEYLOGFILE: file,
    ...(native && keyLog.openssl && { LD_PRELOAD: [childEnv.LD_PRELOAD, keyLog.openssl].filter(Boolean).join(" ") }),
  };
}

/** How many children were started in all. */
let started = 0;

/**
 * CPU time of the children, by account (issue 29: where the children's CPU goes): each child's
 * utime + stime (and its own children's, once reaped), sampled every second and once more right
 * before the lab kills it; a child that exits by itself counts to its last sample.
 */
const cpuByAccount = new Map<string, { ms: number; processes: number }>();
const lastCpu = new Map<Child, { account: string; ms: number }>();
let sampling = false;

function sampleCpu(child: Child): void {
  const f = procStat(child.pid);
  const seen = lastCpu.get(child);
  if (!f || !seen) return;
  seen.ms = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

function settleCpu(child: Child): void {
  const seen = lastCpu.get(child);
  if (!seen) return;
  lastCpu.delete(child);
  const total = cpuByAccount.get(seen.account) ?? { ms: 0, processes: 0 };
  cpuByAccount.set(seen.account, { ms: total.ms + seen.ms, processes: total.processes + 1 });
}

/** The children's CPU so far, by account (ms), those still running at their last sample. */
export function childCpu(): Record<string, { ms: number; processes: number }> {
  const all = new Map(cpuByAccount);
  for (const seen of lastCpu.values()) {
    const total = all.get(seen.account) ?? { ms: 0, processes: 0 };
    all.set(seen.account, { ms: total.ms + seen.ms, processes: total.processes + 1 });
  }
  return Object.fromEntries([...all].sort((a, b) => b[1].ms - a[1].ms));
}

/** Every child still running, so that one call can end them all (Ctrl-C, errors, test teardown). */
const running = new Set<Child>();
/** Set once the lab is ending: a run still under way must not start a process nobody will stop. */
let closed = false;

/** The supervisor (lab/supervisor.ts), started with the first child. */
let supervisor: ChildProcess | undefined;

/**
 * Tells the supervisor about a child (`+PID`) or its end (`-PID`). The
 * supervisor ends every child still listed when this process is gone, even
 * by SIGKILL, where no "exit" handler of ours runs (issue 6: no process may
 * outlive the lab by more than 5 s, stopped ones included).
 */
function supervise(line: string): void {
  if (!supervisor) {
    supervisor = spawn(process.execPath, [bundlePath("lab/engine/supervisor")], {
      stdio: ["pipe", "ignore", "inherit"],
      env: childEnv,
    });
    supervisor.on("error", () => {});
    supervisor.stdin?.on("error", () => {});
    // It must not keep this process alive: it ends when we do, by seeing its stdin close.
    supervisor.unref();
    (supervisor.stdin as Socket | null)?.unref();
  }
  supervisor.stdin?.write(`${line}\n`);
}

/**
 * Starts one of the project's programs as a real process of its own: the
 * pid we get is the pid we signal (no tsx wrapper process in between).
 */
export function spawnChild(options: ChildOptions): Child {
  if (closed) throw new Error("not starting a process: every process is being ended");
  const program: Program = typeof options.entry === "string" ? { kind: "node", entry: options.entry } : options.entry;
  const name = options.external?.name ?? programName(program);
  const command = options.external
    ? { file: options.external.file, args: options.args, openssl: path.basename(options.external.file) !== "node" }
    : commandOf(program, options.args, options.nodeArgs);
  // The user's command (issue 28) runs in a process group of its own, and every signal goes to the
  // group: `sh -c "go run ./cmd/api"` is three processes, the server the last of them.
  const group = program.kind === "command";
  const tree = options.tree === true || group;
  const proc: ChildProcess = spawn(command.file, command.args, {
    detached: group,
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    // A program on the system's OpenSSL (gRPC core in Python, a proxy) gets the key log preloaded under --tls.
    env: envOf(command.openssl),
  });
  proc.stdin?.on("error", () => {});
  // A failed spawn shows up as pid undefined below; the event must not go unhandled.
  proc.on("error", () => {});
  const lines: Line[] = [];
  const keepLines = options.keepLines ?? true;
  const waiters = new Set<(line: Line) => void>();
  const listeners: ((line: Line) => void)[] = [];
  let stderr = "";
  let exit: Exit | undefined;
  proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const stdoutDone = new Promise<void>((resolve) => {
    const reader = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    reader.on("line", (text) => {
      const line = { text, at: performance.now() };
      if (keepLines) lines.push(line);
      for (const waiter of waiters) waiter(line);
      for (const listener of listeners) listener(line);
    });
    reader.on("close", resolve);
  });
  const exited = new Promise<Exit>((resolve) => {
    proc.on("exit", (code, signal) => {
      exit = { code, signal, at: performance.now() };
    });
    // "close" waits for stdout to drain too, so every line is in `lines` by then.
    proc.on("close", () => {
      void stdoutDone.then(() => {
        settleCpu(child);
        running.delete(child);
        supervise(`-${child.pid}`);
        exit ??= { code: proc.exitCode, signal: proc.signalCode, at: performance.now() };
        resolve(exit);
      });
    });
  });

  /** The processes the child started, when it owns some (`tree`): killed with it, before it. */
  const killTree = () => {
    if (!tree || proc.pid === undefined) return;
    for (const pid of [...descendants(proc.pid), ...treeGroups(proc.pid)]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  const child: Child = {
    pid: proc.pid ?? -1,
    entry: name,
    lines,
    stderr: () => stderr,
    exited,
    get exit() {
      return exit;
    },
    onLine(listener) {
      listeners.push(listener);
    },
    write(text) {
      if (exit || !proc.stdin || proc.stdin.destroyed) return false;
      proc.stdin.write(text);
      return true;
    },
    waitForLine(pattern, timeoutMs, since = Number.NEGATIVE_INFINITY) {
      const seen = lines.find((line) => line.at >= since && pattern.test(line.text));
      if (seen) return Promise.resolve(seen);
      return new Promise<Line>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        const waiter = (line: Line) => {
          if (!pattern.test(line.text)) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} printed no line matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then((e) => {
          if (!waiters.has(waiter)) return;
          done();
          const why = stderr.trim().split("\n").pop() ?? "";
          reject(
            new Error(`${name} exited (${e.code ?? e.signal}) before printing ${pattern}${why ? `: ${why}` : ""}`),
          );
        });
      });
    },
    setNiceness(nice) {
      try {
        setPriority(child.pid, nice);
      } catch {
        // Not allowed (an unprivileged user may not raise priority) or already gone.
      }
    },
    signal(signal) {
      // Its CPU as it ends (issue 29); then the child's own processes go with it: once it is
      // killed, nothing would end them.
      if (signal === "SIGKILL" || signal === "SIGTERM" || signal === "SIGINT") sampleCpu(child);
      if (signal === "SIGKILL") killTree();
      try {
        // The group outlives its leader (the shell of a compound command, dead of the signal, its
        // server still draining): it gets the signal until it is empty (ESRCH).
        if (group) process.kill(-child.pid, signal);
        else if (!exit && proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      } catch {
        // Gone between the check and the kill: nothing to signal.
      }
    },
    async stop() {
      child.signal("SIGCONT");
      child.signal("SIGKILL");
      return exited;
    },
  };
  if (proc.pid === undefined) {
    throw new Error(`could not start ${name}`);
  }
  supervise(`${tree ? "*" : "+"}${child.pid}`);
  started++;
  lastCpu.set(child, { account: options.account ?? name, ms: 0 });
  if (!sampling) {
    sampling = true;
    setInterval(() => {
      for (const c of lastCpu.keys()) sampleCpu(c);
    }, 1000).unref();
  }
  if (options.nice) child.setNiceness(options.nice);
  running.add(child);
  return child;
}

/**
 * Ends every child still running (SIGCONT, then SIGKILL) and waits for them.
 * With `final`, no child can be started afterwards (Ctrl-C of the lab).
 */
export async function stopAllChildren(options: { final?: boolean } = {}): Promise<void> {
  if (options.final) closed = true;
  await Promise.all([...running].map((child) => child.stop()));
}

/**
 * The synchronous version, for process "exit" handlers where nothing can be
 * awaited: every child gets SIGCONT then SIGKILL.
 */
export function killAllChildrenNow(): void {
  for (const child of running) {
    child.signal("SIGCONT");
    child.signal("SIGKILL");
  }
}

/** How many children were started since this process began. */
export function startedChildren(): number {
  return started;
}

/**
 * CPU time of this process and of its children that were waited for, ms,
 * from /proc/self/stat (utime, stime, cutime, cstime), or null where there
 * is no /proc. Linux counts in clock ticks of 10 ms (USER_HZ 100).
 */
export function cpuTimes(): { selfMs: number; childrenMs: number } | null {
  const f = procStat("self")?.map(Number);
  return f ? { selfMs: (f[11] + f[12]) * 10, childrenMs: (f[13] + f[14]) * 10 } : null;
}

/** How many children are running now. */
export function runningChildren(): number {
  return running.size;
}

/** The line a server prints once it accepts connections, with its port. */
export const listeningLine = /^listening on .*:(\d+) /;

/**
 * Starts a Chat server (or the fault peer) on `--port 0` unless `args` name
 * a port, and waits for its `listening on` line: the server and its port.
 */
export async function startServer(
  options: ChildOptions & { timeoutMs?: number },
): Promise<{ server: Child; port: number }> {
  const args = options.args.includes("--port") ? options.args : ["--port", "0", ...options.args];
  const server = spawnChild({ ...options, args });
  const line = await server.waitForLine(listeningLine, options.timeoutMs ?? 10_000);
  return { server, port: Number(listeningLine.exec(line.text)?.[1]) };
}
