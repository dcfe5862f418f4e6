import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { FaultStep } from "../catalogue/cases.ts";
import { serverKeepaliveBoundMs } from "../catalogue/server-cases.ts";
import { floorWatchdogMs } from "../catalogue/settings.ts";
import { missingEvidence, type Observation, pingAckDelays, tooBusy } from "../faults/evidence.ts";
import { createRelay, type Relay } from "../faults/relay.ts";
import { openSlowReaders, type SlowReaders } from "../faults/slow-reader.ts";
import { type RunRecord, runWithoutCall } from "../reports/run-record.ts";
import { wireRecord } from "../reports/wire-record.ts";
import { readServerMemory } from "../testing/server-memory.ts";
import type { CallHandle } from "./call-handle.ts";
import { startClientProcess } from "./client-process.ts";
import type { Observer, Scene } from "./plan.ts";
import { heldNow, type SceneContext, seenStopped, stopSeenWithinMs } from "./scene.ts";
import { type RunningServer, startServer, startTimeoutMs } from "./server-pool.ts";

/** A handler's end, as the servers log it (lib/server-log.ts). */
const endLine = (id: number) =>
  new RegExp(`^stream ${id} (client gone: (\\S+)|ended: (\\S+)|status not delivered: (\\S+)|write stalled: )`);

/**
 * The outcome a server's end line stands for: why the handler ended (a
 * status it could not deliver is still the reason it ended; the line says
 * it was not delivered), or write-stalled.
 */
function outcomeOf(m: RegExpExecArray): string {
  return m[2] ?? m[3] ?? m[4] ?? "write-stalled";
}

/**
 * The server's view (issue 13): one server of the scene's own, under
 * `node --expose-gc`, and the scene's runs one after another, each driven
 * through a relay by a client process, a call in the connect agent, or the
 * lab's slow reader. The fault is the client's; the outcome is the server's
 * log line that ended its handler, timed by when the lab read it; then the
 * handlers still running and the heap held (SIGUSR2, after a full GC).
 */
export async function runServerScene(scene: Scene, ctx: SceneContext): Promise<RunRecord[]> {
  const stack = scene.server;
  if (!stack) throw new Error("the server's view needs a server");
  let server: RunningServer | undefined;
  const records: RunRecord[] = [];
  try {
    server = await startServer(stack, ["--port", "0", ...scene.serverArgs], 10, stack.memoryArgs ?? []);
    for (const observer of scene.observers) records.push(await serverRun(observer, server, ctx));
    return records;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return scene.observers.map((o, i) => records[i] ?? broken(o, why));
  } finally {
    await server?.child.stop();
  }
}

async function serverRun(observer: Observer, server: RunningServer, ctx: SceneContext): Promise<RunRecord> {
  const s = ctx.settings;
  const { labCase, client } = observer.cell;
  const driver = labCase.driver ?? "process";
  const relay: Relay = await createRelay({ targetPort: server.port, decode: ctx.tap, tls: ctx.tls?.keyLog });
  let handle: CallHandle | undefined;
  let readers: SlowReaders | undefined;
  const marks: { target: string; what: string; at: number }[] = [];
  const clientState: Observation["client"] = {};
  let heldAtStop: Observation["heldAtStop"];
  try {
    // Handlers an earlier run left running (one that never ended), and the heap then, are not this run's.
    const before = await readServerMemory(server.child);
    const start = performance.now();
    const args = [
      "--port",
      String(relay.port),
      "--protocol",
      client.protocol,
      ...observer.cell.clientArgs,
      ...(labCase.clientArgs?.(s) ?? []),
    ];
    if (driver === "slow-reader") {
      readers = openSlowReaders({ port: relay.port, tlsCa: ctx.tls && readFileSync(ctx.tls.caFile) });
    } else if (observer.caller === "agent") handle = ctx.agents.get(client).call(args);
    else handle = startClientProcess(client, args);

    // Which stream is this run's on the server: the one whose peer is the relay's server leg.
    const upstream = await until(() => relay.connections[0]?.upstreamPort, startTimeoutMs);
    if (upstream === undefined) throw new Error("the run's connection never reached the server");
    // Ports come round again: only a line of this run's time is this run's.
    const started = await server.child.waitForLine(
      new RegExp(` started: peer [^ ]*:${upstream},`),
      startTimeoutMs,
      start,
    );
    const id = Number(/^stream (\d+) /.exec(started.text)?.[1]);

    // The fault, once message 1 was made (the client has it; the slow reader: the server answered).
    let from = handle?.starts[0] ?? start;
    const steps: FaultStep[] = labCase.fault ?? [];
    if (steps.length > 0) {
      if (handle) await handle.firstMessage(startTimeoutMs);
      else await readers?.responded;
      for (const step of steps) {
        if (step.kind === "signal" && handle?.process) {
          handle.process.signal(step.signal);
          marks.push({ target: "client", what: step.signal, at: performance.now() });
          if (step.signal === "SIGSTOP") {
            clientState.stopped = await seenStopped(handle.process.pid, stopSeenWithinMs, () => {
              heldAtStop = heldNow([relay], "client");
            });
          }
        } else if (step.kind === "network") {
          marks.push({ target: "network", what: step.mode, at: relay.setMode(step.mode) });
        } else if (step.kind === "reader" && readers) {
          // A moment for message 1 to be made and held behind the shut window.
          await sleep(100);
          readers[step.action]();
          marks.push({ target: "client", what: `reader ${step.action}`, at: performance.now() });
        }
      }
      from = marks[marks.length - 1]?.at ?? from;
    }

    // The handler's end, by the server's log, or the watchdog: for a server that keeps its PINGs
    // further apart than it is told (issue 27), at least twice what its own keepalive takes.
    const serverKeepalive = (labCase.serverArgs?.(s) ?? []).includes("--ping-interval-ms");
    const watchdogMs = serverKeepalive
      ? Math.max(s.watchdogMs, floorWatchdogMs(serverKeepaliveBoundMs(s, observer.cell.server)))
      : s.watchdogMs;
    const ended = await server.child
      .waitForLine(endLine(id), Math.max(0, from + watchdogMs - performance.now()))
      .catch(() => undefined);
    const endAt = ended?.at ?? performance.now();
    if (handle?.process && marks.some((m) => m.what === "SIGKILL")) {
      const exit = await until(() => handle?.process?.exit(), 2000);
      clientState.exit = exit && { code: exit.code, signal: exit.signal };
    }
    // What it still holds once it ended (or while it hangs): handlers, and heap after a full GC.
    await sleep(50);
    const memory = await readServerMemory(server.child).catch(() => undefined);
    const m = ended && endLine(id).exec(ended.text);
    const code = m ? outcomeOf(m) : "hang";
    const rel = (at: number) => Math.round(at - from);
    const observation: Observation = {
      faultAt: steps.length > 0 ? from : undefined,
      endAt,
      connections: relay.connections,
      ownSettings: observer.cell.profile !== "lab",
      count: s.count,
      client: clientState,
      heldAtStop,
    };
    const missing = ctx.tap ? missingEvidence(labCase.evidence, observation) : [];
    // The server's keepalive ended a stream whose client side answered its PING, late: the lab's slow
    // reader or a client process on a busy machine, not a dead client (seen in a --full run: grpc-java's
    // PING answered 365 ms after it went, against a 250 ms timeout, and the handler ended canceled).
    const lateAck =
      ended !== undefined &&
      serverKeepalive &&
      relay.connections.some((c) =>
        pingAckDelays(c.frames, "server").some(({ ackMs }) => ackMs !== undefined && ackMs > s.keepalive.timeoutMs),
      );
    const held = memory ? `, ${Math.round((memory.heapUsed - before.heapUsed) / 1024)} KiB of heap held` : "";
    const record: RunRecord = {
      code,
      message: ended
        ? ended.text.replace(/^stream \d+ /, "")
        : `no end of stream ${id} within the watchdog: ${memory ? memory.handlers - before.handlers : "?"} handler(s) of this run still running${held}`,
      received: handle?.messages.length ?? 0,
      messages: handle?.messages.map((msg) => msg.text) ?? [],
      detectMs: ended ? rel(endAt) : null,
      hung: !ended,
      exitMs: null,
      call: null,
      caller: driver === "slow-reader" ? "slow-reader" : observer.caller,
      timeline: {
        callStartMs: handle?.starts[0] !== undefined ? rel(handle.starts[0]) : rel(start),
        messagesMs: handle?.messages.map((msg) => rel(msg.at)) ?? [],
        faults: marks.map((mark) => ({ target: mark.target, what: mark.what, atMs: rel(mark.at) })),
        endMs: rel(endAt),
      },
      wire: ctx.tap ? relay.connections.map((c) => wireRecord(c, from)) : null,
      evidence: { checked: ctx.tap, says: labCase.evidence.map((e) => e.says), missing },
      server: {
        line: ended?.text ?? null,
        handlersRunning: memory ? memory.handlers - before.handlers : -1,
        heapHeldBytes: memory ? memory.heapUsed - before.heapUsed : null,
      },
    };
    if (lateAck)
      return {
        ...record,
        code: "lab-error",
        clientCode: code,
        message: `the client's side answered a server keepalive PING after more than ${s.keepalive.timeoutMs} ms, and the server gave up on it: ${tooBusy}`,
        retryable: true,
      };
    if (missing.length === 0) return record;
    return {
      ...record,
      code: "lab-error",
      clientCode: code,
      message: `no evidence of the fault: ${missing.join("; ")}`,
      // As scene.ts: a fault the busy machine kept from showing in time is tried again.
      ...(missing.every((why) => why.endsWith(tooBusy)) && { retryable: true }),
    };
  } catch (e) {
    return broken(observer, e instanceof Error ? e.message : String(e));
  } finally {
    await handle?.abandon();
    readers?.close();
    await relay.close();
    // The next run on this server starts once this one's handler had a moment to go, if it goes at all.
    await sleep(100);
  }
}

/** Polls `get` every 10 ms until it gives a value, up to `ms`. */
async function until<T>(get: () => T | undefined, ms: number): Promise<T | undefined> {
  for (const deadline = performance.now() + ms; ; await sleep(10)) {
    const value = get();
    if (value !== undefined || performance.now() >= deadline) return value;
  }
}

function broken(observer: Observer, why: string): RunRecord {
  const caller = observer.cell.labCase.driver === "slow-reader" ? "slow-reader" : observer.caller;
  return runWithoutCall(
    "lab-error",
    why,
    caller,
    observer.cell.labCase.evidence.map((e) => e.says),
  );
}
