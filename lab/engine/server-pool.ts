import * as http2 from "node:http2";
import type { ServerStack } from "../catalogue/stacks.ts";
import { type Child, listeningLine, spawnChild } from "./child-process.ts";
import { freePort } from "./free-port.ts";
import { waitListening } from "./listen-wait.ts";
import { outsideProcess } from "./outside-process.ts";
import { flagValue, programName } from "./programs.ts";
import { whenSlotFree } from "./start-slots.ts";

/** How long a server may take to start before the run is given up as broken. */
export const startTimeoutMs = 10_000;
/** Niceness while a server loads (see ChildOptions.nice). */
const startNice = 10;

export interface RunningServer {
  child: Child;
  port: number;
  /** Where it listens, when not 127.0.0.1 (a --target server). */
  host?: string;
}

/** Starts a server with these flags (a port among them, or 0) and waits until it listens. */
export function startServer(
  stack: ServerStack,
  args: string[],
  nice = startNice,
  nodeArgs: string[] = [],
  /** Start now, past the queue of starts: a restart's successor, whose clients wait for it. */
  urgent = false,
): Promise<RunningServer> {
  const start = async () => {
    if (stack.program.kind === "command") return startCommand(stack, args);
    if (stack.program.kind === "address") {
      return { child: outsideProcess(programName(stack.program)), port: stack.program.port, host: stack.program.host };
    }
    const child = spawnChild({ entry: stack.program, nice, args, nodeArgs, account: `${stack.id} server` });
    try {
      // A slow starter (a JVM) loads at a low priority among dozens of busy processes: measured, up
      // to 10 s and more in a full matrix on 2 cores (issue 27).
      const line = await child.waitForLine(listeningLine, startTimeoutMs + 10 * (stack.startMs ?? 0));
      // Started: its costly part (loading code) is done; from here on it must answer promptly.
      child.setNiceness(0);
      const port = Number(listeningLine.exec(line.text)?.[1]);
      if (!stack.peerOnly) await warmUp(port);
      // A JVM runs its first Chat call interpreted, its classes loading as it goes: measured, message 1
      // of a fresh grpc-java server's first call came later than an 800 ms deadline on 2 busy cores.
      // One call of its own, ended after its first message, before any run's (issue 27).
      if (stack.startMs !== undefined) await warmUp(port, chatWarmUp);
      return { child, port };
    } catch (e) {
      await child.stop();
      throw e;
    }
  };
  return urgent ? start() : whenSlotFree(start);
}

/**
 * The user's own server (issue 28): its command with {port} (a free one for --port 0) and {host}
 * filled in; it prints nothing the lab reads, so it counts as started once its port accepts.
 */
async function startCommand(stack: ServerStack, args: string[]): Promise<RunningServer> {
  const host = flagValue(args, "host") ?? "127.0.0.1";
  const given = Number(flagValue(args, "port") ?? "0");
  const port = given > 0 ? given : await freePort(host);
  const filled = [...args.filter((_, i) => args[i] !== "--port" && args[i - 1] !== "--port"), "--port", String(port)];
  const child = spawnChild({ entry: stack.program, args: filled, account: `${stack.id} server` });
  try {
    await waitListening(child, host, port, stack.startTimeoutMs ?? Math.max(startTimeoutMs, 10 * (stack.startMs ?? 0)));
    return { child, port };
  } catch (e) {
    await child.stop();
    throw e;
  }
}

/**
 * One health check over HTTP/2, from the lab, before the server's first run:
 * a Node server's first request compiles its request path (~50-100 ms of
 * CPU), and a client with a 100 ms PING timeout would take that cold start for
 * a dead server before any fault.
 */
/** A Chat call's request, framed for gRPC: ChatRequest{name: "warm-up"}. */
const chatWarmUp = {
  path: "/chat.v1.ChatService/Chat",
  body: Buffer.concat([Buffer.from([0, 0, 0, 0, 9, 0x0a, 7]), Buffer.from("warm-up")]),
};

function warmUp(port: number, call = { path: "/grpc.health.v1.Health/Check", body: Buffer.alloc(5) }): Promise<void> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const done = () => {
      clearTimeout(timer);
      session.destroy();
      resolve();
    };
    const timer = setTimeout(done, 2000);
    session.on("error", done);
    const req = session.request({
      ":method": "POST",
      ":path": call.path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.on("error", done);
    req.on("close", done);
    // A stream's first message is enough: the rest of a Chat stream is only the server's pauses.
    req.on("data", done);
    req.resume();
    req.end(call.body);
  });
}

/**
 * The lab's servers (issue 11): long-lived ones for the cases whose fault is
 * not on the server process, each run on a connection of its own; and fresh
 * ones for the cases that signal the server, started ahead of need while
 * other runs wait.
 */
export interface ServerPool {
  /** A long-lived server with these flags, started on first use. */
  shared(stack: ServerStack, args: string[]): Promise<RunningServer>;
  /** The long-lived fault peer's listener for one fault (one process serves them all). */
  sharedPeer(stack: ServerStack, fault: string): Promise<RunningServer>;
  /** A server of its own for one scene: one started ahead if there is one, else a new one. */
  fresh(stack: ServerStack, args: string[]): Promise<RunningServer>;
  /** Starts a server for a later fresh() with the same stack and flags. */
  warm(stack: ServerStack, args: string[]): void;
  /** Ends every server it started that is still running. */
  close(): Promise<void>;
}

export interface ServerPoolOptions {
  /** Flags of the long-lived fault peer: its faults, its delay, --sabotage for tests. */
  peerArgs: string[];
}

export function createServerPool(options: ServerPoolOptions): ServerPool {
  const shared = new Map<string, Promise<RunningServer>>();
  const warm = new Map<string, Promise<RunningServer>[]>();
  const everything = new Set<Promise<RunningServer>>();
  let peer: Promise<{ child: Child; ports: Map<string, number> }> | undefined;
  const key = (stack: ServerStack, args: string[]) => JSON.stringify([stack.id, args]);
  const track = (started: Promise<RunningServer>) => {
    everything.add(started);
    started.catch(() => {});
    return started;
  };
  return {
    async shared(stack, args) {
      const k = key(stack, args);
      let server = shared.get(k);
      // One that died (a bug of ours, or a fault gone wrong) is replaced; its runs said why.
      if (server && (await server.catch(() => undefined))?.child.exit) server = undefined;
      if (!server) {
        server = track(startServer(stack, ["--port", "0", ...args], 0));
        shared.set(k, server);
      }
      return server;
    },
    async sharedPeer(stack, fault) {
      if (peer && (await peer.catch(() => undefined))?.child.exit) peer = undefined;
      peer ??= (async () => {
        const child = spawnChild({
          entry: stack.program,
          args: ["--port", "0", ...options.peerArgs],
          account: "fault-peer",
        });
        const faults = options.peerArgs[options.peerArgs.indexOf("--fault") + 1]?.split(",") ?? [];
        const ports = new Map<string, number>();
        const line = /^listening on .*:(\d+) \(pid \d+, fault-peer (\S+)\)$/;
        for (const f of faults) {
          const seen = await child.waitForLine(
            new RegExp(`fault-peer ${f.replace(/[+:]/g, "\\$&")}\\)$`),
            startTimeoutMs,
          );
          ports.set(f, Number(line.exec(seen.text)?.[1]));
        }
        return { child, ports };
      })();
      const { child, ports } = await peer;
      const port = ports.get(fault);
      if (port === undefined) throw new Error(`the fault peer serves no ${fault}`);
      return { child, port };
    },
    fresh(stack, args) {
      const queue = warm.get(key(stack, args));
      const ahead = queue?.shift();
      return ahead ?? track(startServer(stack, ["--port", "0", ...args]));
    },
    warm(stack, args) {
      const k = key(stack, args);
      const queue = warm.get(k) ?? [];
      queue.push(track(startServer(stack, ["--port", "0", ...args])));
      warm.set(k, queue);
    },
    async close() {
      const servers = await Promise.all([...everything].map((s) => s.catch(() => undefined)));
      const peerChild = await peer?.then((p) => p.child).catch(() => undefined);
      await Promise.all([...servers, peerChild && { child: peerChild }].map((s) => s?.child.stop()));
    },
  };
}
