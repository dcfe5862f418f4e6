import { setTimeout as sleep } from "node:timers/promises";
import type { CallsRecord } from "../../lib/run-calls.ts";
import { restartGapMs } from "../catalogue/case-parts.ts";
import type { FaultStep } from "../catalogue/cases.ts";
import { type ProxySlot, proxyStacks } from "../catalogue/proxies.ts";
import type { LabSettings } from "../catalogue/settings.ts";
import { floorWatchdogMs } from "../catalogue/settings.ts";
import { keepaliveBoundMs } from "../catalogue/stacks.ts";
import { callOf, missingEvidence, type Observation, tooBusy } from "../faults/evidence.ts";
import { createRelay, type Relay, type TapConnection } from "../faults/relay.ts";
import { tcpQueues } from "../faults/tcp-queues.ts";
import { type RunRecord, runWithoutCall } from "../reports/run-record.ts";
import { wireRecord } from "../reports/wire-record.ts";
import { type CallHandle, fromEpoch } from "./call-handle.ts";
import type { AgentPool } from "./client-agent.ts";
import { startClientProcess } from "./client-process.ts";
import { startCommandClient } from "./command-client.ts";
import { freePort, probePort } from "./free-port.ts";
import type { LabTls } from "./lab-tls.ts";
import { type Observer, observerSteps, type Scene } from "./plan.ts";
import { procStat } from "./proc-stat.ts";
import type { ProxyLease, ProxyPool } from "./proxy-pool.ts";
import { type RunningServer, type ServerPool, startServer, startTimeoutMs } from "./server-pool.ts";
import { settleAll } from "./settle-all.ts";
import { starvedKeepalive } from "./starved-keepalive.ts";
import { within } from "./within.ts";

export interface SceneContext {
  settings: LabSettings;
  agents: AgentPool;
  servers: ServerPool;
  /** The proxies of the proxy group (issue 14). */
  proxies: ProxyPool;
  /** Put the wire tap on every run that has a server (default); off only to measure what it costs. */
  tap: boolean;
  /** --tls (issue 19): the tap reads the connections with the peers' key log. Default: none, h2c. */
  tls?: LabTls;
}

/** A fault step as it happened, on the lab's clock. */
interface Mark {
  target: string;
  what: string;
  at: number;
}

/** One observer under way. */
interface Watch {
  observer: Observer;
  /** The relay the client calls through (behind a proxy: the client-proxy hop). */
  relay: Relay | undefined;
  /** Behind a proxy: the proxy-server hop's relay, on the port the proxy forwards to. */
  upstream?: Relay;
  /** Behind a proxy: the proxy process and the slot (ports) of this run. */
  proxy?: { lease: ProxyLease; slot: ProxySlot };
  handle: CallHandle | undefined;
  /** Set when the run cannot be a finding: why. */
  broken?: string;
  /** Message 1 (or the call's start, for a fault there from the start). */
  first?: number;
  marks: Mark[];
}

/** Whether a TCP connection to the port is refused now. */
const refusedNow = async (port: number) => (await probePort(port)) === "ECONNREFUSED";

/**
 * How long a SIGSTOP may take to show in /proc: a runnable process stops when it is next scheduled,
 * which on a saturated machine (CI beside other test files) took over 200 ms.
 */
export const stopSeenWithinMs = 1000;

/**
 * Waits until /proc shows the process stopped (state T), up to `ms`; calls
 * `onStopped` in the same turn as it sees it, before any byte more is read
 * from a socket (what the relays hold then is what the process had sent).
 */
export async function seenStopped(pid: number, ms: number, onStopped?: () => void): Promise<boolean> {
  for (const deadline = performance.now() + ms; performance.now() < deadline; await sleep(2)) {
    if (procStat(pid)?.[0] === "T") {
      onStopped?.();
      return true;
    }
  }
  return false;
}

/** What each relay had read from `side`, and the kernel still held from it, now (Observation.heldAtStop). */
export function heldNow(relays: readonly (Relay | undefined)[], side: "server" | "client") {
  const queues = tcpQueues();
  const held = new Map<TapConnection, { read: number; queued: number }>();
  for (const relay of relays) for (const [conn, h] of relay?.heldFrom(side, queues) ?? []) held.set(conn, h);
  return held;
}

/** Alive and not stopped. */
const running = (pid: number) => {
  const state = procStat(pid)?.[0];
  return state !== undefined && state !== "T" && state !== "Z" && state !== "X";
};

/**
 * Runs one scene: its server (or none), every observer's call through a
 * wire tap of its own, the server's fault steps once every observer has
 * message 1, each observer's own steps, then each call's result or, when
 * the watchdog fires first, a hang. Returns one record per observer, in
 * order. Every process, call and socket it started is ended when it returns.
 */
/**
 * Runs one scene: its server, every observer's call, the fault, each observer's record.
 * `onRunEnded` hears of each record as it is made, before the scene's slowest run ends: the
 * scheduler gives its slot to another scene (a suspended server watched by a client whose
 * keepalive is clamped to 10 s held eleven slots for 10 s, issue 27).
 */
export async function runScene(scene: Scene, ctx: SceneContext, onRunEnded?: () => void): Promise<RunRecord[]> {
  const s = ctx.settings;
  const freshServers: RunningServer[] = [];
  const watches: Watch[] = scene.observers.map((observer) => ({
    observer,
    relay: undefined,
    handle: undefined,
    marks: [],
  }));
  const sceneMarks: Mark[] = [];
  const leases: ProxyLease[] = [];
  let restartedAt: number | undefined;
  let serverState: Observation["server"];
  let heldAtStop: Observation["heldAtStop"];
  let refused: boolean | undefined;
  try {
    // The server.
    let server: RunningServer | undefined;
    let port: number;
    const stack = scene.server;
    if (scene.source === "none" || !stack) {
      port = await freePort();
      refused = await refusedNow(port);
    } else {
      server =
        scene.source === "shared"
          ? await ctx.servers.shared(stack, scene.serverArgs)
          : scene.source === "peer"
            ? await ctx.servers.sharedPeer(stack, scene.fault ?? "")
            : await ctx.servers.fresh(stack, scene.serverArgs);
      if (scene.source === "fresh") freshServers.push(server);
      port = server.port;
    }

    // Every observer's call, each through its own relay: its own connection, its own tap. Client
    // processes load first (~0.2 s of CPU each); the agents' calls start once they are calling, so
    // that every call of the scene has message 1 at about the same moment, ahead of the fault.
    await leaseProxySlots(watches, ctx.proxies, leases);
    const startCall = async (w: Watch) => {
      const { labCase, client } = w.observer.cell;
      const network = (labCase.fault ?? []).some((step) => step.kind === "network");
      if (w.proxy) {
        // Behind a proxy: a relay on each hop, the proxy between them.
        w.upstream = await createRelay({
          port: w.proxy.slot.upstream,
          targetHost: server?.host,
          targetPort: port,
          decode: ctx.tap,
          tls: ctx.tls?.keyLog,
        });
        w.relay = await createRelay({ targetPort: w.proxy.slot.listen, decode: ctx.tap, tls: ctx.tls?.keyLog });
        if (labCase.proxy?.variant === "health-check") await checkedHealthy(w.upstream, ctx.tap);
      } else if (scene.source !== "none" && (ctx.tap || network)) {
        w.relay = await createRelay({
          targetHost: server?.host,
          targetPort: port,
          decode: ctx.tap,
          tls: ctx.tls?.keyLog,
        });
      }
      const args = [
        "--port",
        String(w.relay?.port ?? port),
        "--protocol",
        client.protocol,
        ...w.observer.cell.clientArgs,
        ...(labCase.clientArgs?.(s, w.observer.cell.server) ?? []),
      ];
      const relay = w.relay;
      w.handle =
        client.program.kind === "command"
          ? startCommandClient(client, args, relay && (() => relay.connections))
          : w.observer.caller === "agent"
            ? ctx.agents.get(client).call(args)
            : startClientProcess(client, args);
    };
    const processes = watches.filter((w) => w.observer.caller === "process");
    await settleAll(processes.map(startCall));
    await Promise.all(processes.map((w) => w.handle?.started(startTimeoutMs).catch(() => undefined)));
    await settleAll(watches.filter((w) => w.observer.caller === "agent").map(startCall));

    // Message 1 everywhere (or the call's start, for a fault there from the start).
    await Promise.all(
      watches.map(async (w) => {
        const wait =
          w.observer.cell.labCase.faultAt === "start"
            ? w.handle?.started(startTimeoutMs)
            : w.handle?.firstMessage(startTimeoutMs);
        w.first = await wait?.catch(() => undefined);
      }),
    );

    // The server's steps, once, watched by every observer that got that far. An observer that has
    // message 2 already has not seen a fault at message 1: its run proves nothing.
    for (const w of watches) {
      if (scene.serverSteps.length > 0 && (w.handle?.messages.length ?? 0) > 1)
        w.broken = `the fault came after message ${w.handle?.messages.length}: the scene waited for a slower call`;
    }
    if (server && stack && scene.serverSteps.length > 0 && watches.some((w) => w.first !== undefined)) {
      const target = server;
      for (const step of scene.serverSteps) {
        if (step.kind === "signal") {
          target.child.signal(step.signal);
          sceneMarks.push({ target: "server", what: step.signal, at: performance.now() });
          if (step.signal === "SIGSTOP") {
            const relays = watches.flatMap((w) => [w.relay, w.upstream]);
            const stopped = await seenStopped(target.child.pid, stopSeenWithinMs, () => {
              heldAtStop = heldNow(relays, "server");
            });
            serverState = { stopped };
          }
          if (step.signal === "SIGKILL") {
            const exit = await within(target.child.exited, 2000);
            serverState = { exit: exit && { code: exit.code, signal: exit.signal } };
            // The kernel tears a killed process down before its sockets close: 10-150 ms for a
            // Node server here, 1.2 s once on a loaded machine (issue 22). The crash reaches the
            // client when it is gone, not when the signal was sent.
            if (exit) sceneMarks.push({ target: "server", what: gone, at: exit.at });
          }
        } else if (step.kind === "restart") {
          target.child.signal("SIGKILL");
          sceneMarks.push({ target: "server", what: "SIGKILL", at: performance.now() });
          const exit = await target.child.exited;
          serverState = { exit: { code: exit.code, signal: exit.signal } };
          const successor = await startServer(stack, ["--port", String(port), ...scene.serverArgs], 0, [], true);
          freshServers.push(successor);
          restartedAt = performance.now();
          sceneMarks.push({ target: "server", what: "restarted", at: restartedAt });
        }
      }
    }

    // Each observer's own steps, its wait, its record.
    return await Promise.all(
      watches.map((w) =>
        finishRun(w, {
          ctx,
          scene,
          sceneMarks,
          restartedAt,
          serverState,
          heldAtStop,
          refused,
          server: () => freshServers[freshServers.length - 1] ?? server,
        }).finally(() => onRunEnded?.()),
      ),
    );
  } catch (e) {
    // The scene itself failed (a server that would not start): every run is a lab error.
    const why = e instanceof Error ? e.message : String(e);
    return watches.map((w) => labError(w, why, true));
  } finally {
    await Promise.all(watches.map((w) => w.handle?.abandon()));
    await Promise.all(watches.flatMap((w) => [w.relay?.close(), w.upstream?.close()]));
    for (const lease of leases) lease.release();
    await Promise.all(freshServers.map((f) => f.child.stop()));
  }
}

interface FinishContext {
  ctx: SceneContext;
  scene: Scene;
  sceneMarks: Mark[];
  restartedAt: number | undefined;
  serverState: Observation["server"];
  heldAtStop: Observation["heldAtStop"];
  refused: boolean | undefined;
  /** The server process as it is now (after a restart: the new one). */
  server: () => RunningServer | undefined;
}

async function finishRun(w: Watch, f: FinishContext): Promise<RunRecord> {
  const handle = w.handle;
  const { labCase } = w.observer.cell;
  if (!handle) return labError(w, "no call was made");
  if (w.broken) return labError(w, w.broken, true);
  if (labCase.fault && labCase.faultAt !== "start" && w.first === undefined) {
    // It ended (or never began) before the fault: whatever it says, it says nothing of the fault.
    const early = await handle.result.then(
      (r) => `${r.code}${r.message ? ` "${r.message}"` : ""}`,
      (e: Error) => e.message,
    );
    return labError(w, `the call ended before message 1, so before the fault: ${early}`, true);
  }
  w.marks.push(...(w.first !== undefined ? f.sceneMarks : []));

  // This run's own steps, once it has message 1.
  if (w.first !== undefined && labCase.faultAt !== "start") {
    for (const step of observerSteps(labCase)) {
      if (handle.settled) break;
      const mark = await injectStep(step, w, f.ctx.settings, f.server());
      if (mark) w.marks.push(mark);
    }
  }
  // The fault's moment: its last step (a restart's is the kill; the new server listening is an
  // event); a killed server's, when it was gone (see goneAt).
  const steps = w.marks.filter((m) => m.what !== "restarted" && m.what !== gone);
  const from = labCase.faultAt === "start" ? w.first : (goneAt(w) ?? steps[steps.length - 1]?.at);
  // A message that came within moments of the fault left the server before it: the fault did not
  // come at message 1 (its scene waited for a slower call, or the machine stalled).
  const early = handle.messages.filter((m) => m.call === 1 && from !== undefined && m.at <= from + 20);
  if (labCase.fault && labCase.faultAt !== "start" && from !== undefined && early.length > 1) {
    return labError(w, `the fault came after message ${early.length}: the scene waited for a slower call`, true);
  }

  let waited: Awaited<ReturnType<typeof awaitResult>>;
  try {
    waited = await awaitResult(w, handle, f, from);
  } catch (e) {
    return labError(w, e instanceof Error ? e.message : String(e));
  }
  const { result } = waited;
  const endAt = result ? fromEpoch(result.endedAt) : performance.now();
  if (!result) await handle.abandon();
  // Evidence that follows the client's reaction (a close after a GOAWAY) needs a moment more.
  const lingerMs = Math.max(0, ...labCase.evidence.map((e) => e.lingerMs ?? 0));
  if (lingerMs > 0 && f.ctx.tap) await sleep(endAt + lingerMs - performance.now());
  const origin = from ?? handle.starts[0] ?? w.first ?? endAt;
  const rel = (at: number) => Math.round(at - origin);

  const missing = f.ctx.tap ? missingEvidence(labCase.evidence, observe(w, f, from, endAt)) : [];
  const worthless = brokenPeers(f, w);
  if (worthless) return worthless;

  const base: Omit<RunRecord, "code" | "message" | "detectMs" | "hung" | "call"> = {
    received:
      result?.received ??
      handle.messages.filter((m) => m.call === (result?.previousCalls ? result.previousCalls.length + 1 : 1)).length,
    messages: handle.messages.map((m) => m.text),
    exitMs: handle.process?.exitedAt() !== undefined ? rel(handle.process.exitedAt() ?? 0) : null,
    caller: w.observer.caller,
    timeline: {
      callStartMs: handle.starts[0] !== undefined ? rel(handle.starts[0]) : null,
      messagesMs: handle.messages.map((m) => rel(m.at)),
      faults: w.marks.map((m) => ({ target: m.target, what: m.what, atMs: rel(m.at) })),
      endMs: rel(endAt),
    },
    wire:
      w.relay && f.ctx.tap
        ? [
            ...w.relay.connections.map((c) => wireRecord(c, origin, w.upstream && "client-proxy")),
            ...(w.upstream?.connections.map((c) => wireRecord(c, origin, "proxy-server")) ?? []),
          ]
        : null,
    evidence: { checked: f.ctx.tap, says: labCase.evidence.map((e) => e.says), missing },
  };

  if (!result) {
    // A stream still delivering its messages when the watchdog came is slow, not hung: its messages
    // came late because the machine stalled (seen in a full matrix: a graceful shutdown behind nginx,
    // message 2 at 1.24 s instead of 0.5 s, the call ending ok 0.3 s past the watchdog).
    const last = handle.messages[handle.messages.length - 1];
    if (from !== undefined && last && last.at > from && endAt - last.at < 1.5 * f.ctx.settings.intervalMs) {
      return labError(
        w,
        `the stream was still delivering messages when the watchdog came (message ${handle.messages.length}, ${Math.round(endAt - last.at)} ms before it): the machine is too busy for these timings`,
        true,
      );
    }
    const record: RunRecord = { ...base, code: "hang", message: "", detectMs: null, hung: true, call: null };
    return missing.length > 0 ? withoutEvidence(record, missing) : record;
  }
  const mistimed = mistimedRun(w, f, result, steps[0]?.at ?? from);
  if (mistimed) return mistimed;
  const earlier = result.previousCalls?.[result.previousCalls.length - 1];
  const record: RunRecord = {
    ...base,
    code: result.code,
    message: earlier
      ? `first call: ${earlier.code} "${earlier.message}"; second call: ${result.message || "ok"}`
      : result.message,
    // Timed by the client's own clock (same machine, same epoch), not by when its line got here.
    // After a restart: the second call's time to its first message, i.e. how fast the client recovered.
    detectMs: earlier
      ? result.firstMessageMs
      : from === undefined
        ? result.elapsedMs
        : Math.max(0, Math.round(endAt - from)),
    hung: false,
    call: { elapsedMs: result.elapsedMs, arrivalsMs: result.arrivalsMs },
  };
  return missing.length > 0 ? withoutEvidence(record, missing) : record;
}

/**
 * Waits for the run's result up to its watchdog: from the fault; without one, from message 1
 * plus the rest of the stream. A client that keeps its PINGs further apart than it was told
 * (a keepalive floor, issue 27) gets the time its own keepalive takes. Undefined: a hang.
 */
async function awaitResult(
  w: Watch,
  handle: CallHandle,
  f: FinishContext,
  from: number | undefined,
): Promise<{ result: CallsRecord | undefined }> {
  const s = f.ctx.settings;
  const { labCase, client } = w.observer.cell;
  const keepalive = (labCase.clientArgs?.(s) ?? []).includes("--ping-interval-ms");
  const watchdogMs =
    client.keepaliveFloorMs !== undefined && keepalive
      ? Math.max(s.watchdogMs, floorWatchdogMs(keepaliveBoundMs(client, s)))
      : s.watchdogMs;
  // A client told to call again when its call fails (--calls 2, no restart): its second call starts
  // once keepalive ended the first, and is a hang only a watchdog after that.
  const callsAgain = f.restartedAt === undefined && (labCase.clientArgs?.(s) ?? []).includes("--calls");
  const now = performance.now();
  let deadline =
    callsAgain && from !== undefined
      ? from + keepaliveBoundMs(client, s) + watchdogMs
      : labCase.faultAt === "start" && from !== undefined
        ? from + watchdogMs
        : f.restartedAt !== undefined && from !== undefined
          ? f.restartedAt + restartGapMs(s, w.observer.cell.server) + s.intervalMs * s.count + watchdogMs
          : from !== undefined
            ? from + watchdogMs
            : w.first !== undefined
              ? w.first + s.intervalMs * (s.count - 1) + watchdogMs
              : now + watchdogMs;
  let result = await within(handle.result, deadline - performance.now());
  // Its second call began later than keepalive's bound said (a busy machine): a watchdog from it.
  const again = callsAgain ? handle.starts[1] : undefined;
  if (!result && again !== undefined && again + watchdogMs > deadline) {
    deadline = again + watchdogMs;
    result = await within(handle.result, deadline - performance.now());
  }
  if (!result) {
    // A lab that ran late serves its due timers before the lines waiting on its sockets: read those
    // first (setImmediate runs after the poll phase), and take a result the client had by the
    // watchdog, by its own clock. Otherwise a stalled lab reads a crash as a hang (seen once in CI).
    let late: CallsRecord | undefined;
    handle.result.then(
      (r) => {
        late = r;
      },
      () => {},
    );
    await new Promise((resolve) => setImmediate(resolve));
    if (late && fromEpoch(late.endedAt) <= deadline) result = late;
  }
  return { result };
}

/** What the tap and the processes saw of the fault: what its evidence is checked against. */
function observe(w: Watch, f: FinishContext, from: number | undefined, endAt: number): Observation {
  const { labCase } = w.observer.cell;
  const server = f.server();
  const stalled = labCase.fault?.some((step) => step.kind === "stall");
  return {
    faultAt: from,
    endAt,
    connections: w.relay?.connections ?? [],
    ...(w.upstream && { upstream: w.upstream.connections }),
    ownSettings: w.observer.cell.profile !== "lab",
    count: f.ctx.settings.count,
    server: {
      ...f.serverState,
      ...(stalled && server ? { running: running(server.child.pid) } : {}),
    },
    refused: f.refused,
    heldAtStop: f.heldAtStop,
    // What the peer sent that the relay has not read yet (a busy lab): silence is checked against it.
    heldNow: () => heldNow([w.relay], "server"),
  };
}

/** A long-lived server or a proxy that died under the run (not the fault's doing) makes it worthless. */
function brokenPeers(f: FinishContext, w: Watch): RunRecord | undefined {
  const server = f.server();
  const died = f.scene.source !== "fresh" && server?.child.exit;
  if (died) {
    const why =
      server?.child
        .stderr()
        .trim()
        .split("\n")
        .find((l) => /Error/.test(l)) ?? "";
    return labError(
      w,
      `the ${f.scene.server?.id} server died during the run (${died.signal ?? `exit ${died.code}`})${why ? `: ${why}` : ""}`,
      true,
    );
  }
  const proxyExit = w.proxy?.lease.proxy.exit;
  if (proxyExit) {
    return labError(
      w,
      `${w.proxy?.lease.proxy.entry} died during the run (${proxyExit.signal ?? `exit ${proxyExit.code}`})`,
    );
  }
  return undefined;
}

/**
 * A run the machine mistimed, a retried lab error: a second call that began before the restarted
 * server listened; a call that ended before its fault; a client that gave up on a keepalive PING a
 * starved peer answered late.
 */
function mistimedRun(
  w: Watch,
  f: FinishContext,
  result: CallsRecord,
  began: number | undefined,
): RunRecord | undefined {
  const { labCase } = w.observer.cell;
  const earlier = result.previousCalls?.[result.previousCalls.length - 1];
  if (earlier && f.restartedAt !== undefined) {
    const secondCallAt = fromEpoch(result.endedAt - result.elapsedMs);
    if (secondCallAt < f.restartedAt) {
      return labError(
        w,
        `restart: the second call started ${Math.round(f.restartedAt - secondCallAt)} ms before the new server listened; the machine is too busy for this restart gap`,
        true,
      );
    }
  }
  // It ended before the fault came (a keepalive PING a starved server answered late, say): it
  // says nothing of the fault, and its missing evidence would read as a broken injector. (5 ms:
  // the client's clock and the lab's are two processes' views of one clock, to the millisecond.)
  // Against the fault's first step, not `from`: a killed server's clients may see its end before the
  // lab sees its exit (without the tap, the exit is all goneAt has).
  if (labCase.fault && labCase.faultAt !== "start" && began !== undefined && fromEpoch(result.endedAt) < began - 5) {
    const ended = `${result.code}${result.message ? ` "${result.message}"` : ""}`;
    return labError(
      w,
      `the call ended (${ended}) ${Math.round(began - fromEpoch(result.endedAt))} ms before the fault came: the machine is too busy for these timings`,
      true,
    );
  }
  // A client that gave up on a keepalive PING because the machine, not the fault, kept its ACK
  // from it: tried again.
  if (result.code === "unavailable" || result.code === "internal" || result.code === "unknown") {
    const starved = starvedKeepalive({
      connections: w.relay?.connections ?? [],
      endedAt: fromEpoch(result.endedAt),
      message: result.message,
      timeoutMs: f.ctx.settings.keepalive.timeoutMs,
      keepaliveOn: [...w.observer.cell.clientArgs, ...(labCase.clientArgs?.(f.ctx.settings) ?? [])].includes(
        "--ping-timeout-ms",
      ),
    });
    if (starved) return labError(w, starved, true);
  }
  return undefined;
}

/** A run whose fault left no evidence proves nothing: a lab error, with what the client said kept aside. */
function withoutEvidence(record: RunRecord, missing: string[]): RunRecord {
  return {
    ...(missing.every((why) => why.endsWith(tooBusy)) && { retryable: true }),
    ...record,
    code: "lab-error",
    clientCode: record.code,
    message: `no evidence of the fault: ${missing.join("; ")}`,
  };
}

/** Does one of a run's own steps; the mark says when it took effect. */
async function injectStep(
  step: FaultStep,
  w: Watch,
  s: LabSettings,
  server: RunningServer | undefined,
): Promise<Mark | undefined> {
  const handle = w.handle;
  switch (step.kind) {
    case "signal": {
      const delay = step.afterMs?.(s) ?? 0;
      if (delay > 0) await within(handle?.result.catch(() => {}) ?? sleep(delay), delay);
      handle?.process?.signal(step.signal);
      return { target: step.target, what: step.signal, at: performance.now() };
    }
    case "network": {
      const relay = step.hop === "proxy-server" ? w.upstream : w.relay;
      const at = relay?.setMode(step.mode);
      return at === undefined ? undefined : { target: step.hop ?? "network", what: step.mode, at };
    }
    case "stall":
      // The handler went silent right after sending message 1.
      return w.first === undefined ? undefined : { target: "server", what: "stall", at: w.first };
    case "peer":
      return server && peerFault(w, server);
    default:
      return undefined;
  }
}

/**
 * Takes the proxy slots of every proxied run of the scene, all of a proxy's
 * at once (see ProxyPool), into `leases` so that the scene releases them
 * whatever happens.
 */
async function leaseProxySlots(watches: Watch[], proxies: ProxyPool, leases: ProxyLease[]): Promise<void> {
  const byProxy = new Map<string, Watch[]>();
  for (const w of watches) {
    const proxy = w.observer.cell.labCase.proxy;
    if (!proxy) continue;
    const key = `${proxy.id} ${proxy.variant}`;
    byProxy.set(key, [...(byProxy.get(key) ?? []), w]);
  }
  for (const group of byProxy.values()) {
    const wanted = group[0].observer.cell.labCase.proxy;
    const stack = proxyStacks.find((p) => p.id === wanted?.id);
    if (!wanted || !stack) throw new Error(`no proxy "${wanted?.id}"`);
    const lease = await proxies.acquire(stack, wanted.variant, group.length);
    leases.push(lease);
    group.forEach((w, i) => {
      w.proxy = { lease, slot: lease.slots[i] };
    });
  }
}

/**
 * A proxy that health-checks its server marks it down while no relay listens
 * on its slot (between runs): a call must wait until a check has passed
 * through this run's relay, or the proxy turns it away before any fault.
 */
async function checkedHealthy(upstream: Relay, decoded: boolean): Promise<void> {
  // The server's answer, as HTTP/2 where the tap reads it: over TLS the first bytes back are the
  // handshake's, long before the check's answer (a call then met the proxy's 503, issue 19).
  const answered = (c: TapConnection) =>
    decoded ? c.frames.some((f) => f.dir === "s2c" && f.type === "HEADERS") : c.forwarded.s2c > 0;
  for (const deadline = performance.now() + startTimeoutMs; performance.now() < deadline; await sleep(10)) {
    if (upstream.connections.some(answered)) {
      // The answer is through; give the proxy a moment to act on it.
      await sleep(20);
      return;
    }
  }
  throw new Error("the proxy's health check never passed through its relay");
}

/**
 * The fault peer's moment, from its own `fault: ... (peer HOST:PORT) at
 * EPOCH` line: the line whose peer is this run's relay on the server leg.
 */
async function peerFault(w: Watch, server: RunningServer): Promise<Mark | undefined> {
  const line = /^fault: .* \(peer [^)]*:(\d+)\) at (\d+(?:\.\d+)?)$/;
  // With a tap, the relay's port on the server leg names the run; without one the peer is the run's own.
  const connections = w.relay?.connections ?? [];
  const port = (callOf(connections)?.conn ?? connections[0])?.upstreamPort;
  const pattern = port === undefined ? line : new RegExp(`^fault: .* \\(peer [^)]*:${port}\\) at `);
  // Ports come round again in a long run: only a line of this run's time is this run's.
  const since = w.handle?.starts[0] ?? Number.NEGATIVE_INFINITY;
  const seen = await server.child.waitForLine(pattern, startTimeoutMs, since).catch(() => undefined);
  const epoch = Number(line.exec(seen?.text ?? "")?.[2] ?? Number.NaN);
  return Number.isNaN(epoch) ? undefined : { target: "server", what: "fault", at: fromEpoch(epoch) };
}

/** The mark of a killed process's end (its exit, as the lab saw it). */
const gone = "gone";

/**
 * When a killed server was gone for this run: the first close of the
 * server's end of the run's connection (on the proxy-server hop, behind a
 * proxy) after the SIGKILL, or the process's exit as the lab saw it,
 * whichever came first. Undefined when the run's fault kills nothing.
 */
function goneAt(w: Watch): number | undefined {
  const kill = w.marks.find((m) => m.what === "SIGKILL");
  const exit = w.marks.find((m) => m.what === gone);
  if (!kill || !exit) return undefined;
  const closes = (w.upstream ?? w.relay)?.connections.flatMap((c) =>
    c.tcp
      .filter((e) => e.leg === "server" && e.by === "server" && e.event !== "open" && e.at >= kill.at)
      .map((e) => e.at),
  );
  return Math.min(exit.at, ...(closes ?? []));
}

/**
 * A run that proves nothing. `retryable` marks the lab's own mishaps of
 * timing on a busy machine (a fault that came late, a call that ended
 * before it): the engine runs those again. A missing piece of evidence or a
 * dead agent is never retried: the report must show it.
 */
function labError(w: Watch, why: string, retryable = false): RunRecord {
  const says = w.observer.cell.labCase.evidence.map((e) => e.says);
  const messages = w.handle?.messages.map((m) => m.text) ?? [];
  return {
    ...(retryable && { retryable: true }),
    ...runWithoutCall("lab-error", why, w.observer.caller, says, messages),
  };
}
