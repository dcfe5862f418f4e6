/**
 * A channel's life (issue 17): one long-lived channel per observer (a
 * transport in connect-node, a channel in grpc-js and grpcio), opened in the
 * client stack's agent, and a timeline of calls and faults done to it. The
 * observers of a scene share its servers (one per backend, each behind a
 * relay of every observer's, on the backend's own address) and go through
 * the steps together. Each run's record holds every call of its channel;
 * its code is the scenario's outcome (the watched calls' codes).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { CallsRecord } from "../../lib/run-calls.ts";
import { epochMs } from "../../lib/wall-clock.ts";
import type { ChannelScenario, ChannelStep } from "../catalogue/case-types.ts";
import { floorWatchdogMs } from "../catalogue/settings.ts";
import { keepaliveBoundMs } from "../catalogue/stacks.ts";
import { missingEvidence, noCall, type Observation, tooBusy } from "../faults/evidence.ts";
import { createRelay, type Relay } from "../faults/relay.ts";
import { type ChannelCallRecord, type RunRecord, runWithoutCall } from "../reports/run-record.ts";
import { wireRecord } from "../reports/wire-record.ts";
import { type CallHandle, fromEpoch } from "./call-handle.ts";
import { channelOutcome } from "./channel-outcome.ts";
import type { Exit } from "./child-process.ts";
import type { Agent, AgentChannel } from "./client-agent.ts";
import { crashSignals } from "./client-process.ts";
import { type CommandChannel, openCommandChannel } from "./command-channel.ts";
import { freeFixedPort } from "./free-port.ts";
import { backendArgs, backendHost, freshBackend, type Observer, type Scene } from "./plan.ts";
import { heldNow, type SceneContext, seenStopped, stopSeenWithinMs } from "./scene.ts";
import { type RunningServer, startServer, startTimeoutMs } from "./server-pool.ts";
import { settleAll } from "./settle-all.ts";
import { within } from "./within.ts";

/** One call made on an observer's channel. */
interface ChannelCall {
  label: string;
  handle: CallHandle;
  /** When the lab gave up on it (a hang), if it did. */
  abandonedAt?: number;
}

/** One observer under way: its relays (one per backend), its channel, its calls. */
interface ChannelWatch {
  observer: Observer;
  relays: Relay[];
  /** An agent's channel, or the user's client command making calls of its own (issue 28). */
  channel?: AgentChannel | CommandChannel;
  /** The agent of its own, where the case crashes its client (LabCase.ownProcess). */
  agent?: Agent;
  calls: ChannelCall[];
  broken?: string;
}

interface Mark {
  target: string;
  what: string;
  at: number;
}

/** The user's client command on this watch's channel, if that is what it is (issue 28). */
const commandOf = (w: ChannelWatch): CommandChannel | undefined =>
  w.channel && "kind" in w.channel ? w.channel : undefined;

/** Every step's times, read off the settings once. */
const stepsOf = (scenario: ChannelScenario) => scenario.steps;

/** A channel scene under way: its servers, its observers, what was done and seen. */
interface ChannelRun {
  scene: Scene;
  ctx: SceneContext;
  scenario: ChannelScenario;
  backends: number;
  servers: (RunningServer | undefined)[];
  /** The servers of the scene's own, ended with it. */
  fresh: RunningServer[];
  watches: ChannelWatch[];
  marks: Mark[];
  serverState: Observation["server"][];
  heldAtStop: Observation["heldAtStop"];
  /** When a killed server was gone (its exit, as the lab saw it). */
  gone: number | undefined;
  /** Each restarted backend's successor, started ahead. */
  successors: Promise<RunningServer>[];
  /** How long a healthy call of these servers takes, and the watchdog after it. */
  streamMs: number;
  watchdogMs: number;
  /** A step has acted on a server or the network. */
  faulted: boolean;
}

export async function runChannelScene(scene: Scene, ctx: SceneContext): Promise<RunRecord[]> {
  const scenario = scene.observers[0].cell.labCase.channel as ChannelScenario;
  const run: ChannelRun = {
    scene,
    ctx,
    scenario,
    backends: scene.channel?.backends ?? 1,
    servers: [],
    fresh: [],
    watches: scene.observers.map((observer) => ({ observer, relays: [], calls: [] })),
    marks: [],
    serverState: [],
    heldAtStop: undefined,
    gone: undefined,
    successors: [],
    streamMs: 0,
    watchdogMs: ctx.settings.watchdogMs,
    faulted: false,
  };
  try {
    await setUpChannelScene(run);
    for (const [index, step] of stepsOf(scenario).entries()) await runChannelStep(run, step, index);
    const endAt = performance.now();
    // The user's client made its own calls: they are the channel's, each placed by its start.
    const faultAt = run.marks.find((m) => m.what !== "restarted")?.at;
    for (const w of run.watches) {
      const command = commandOf(w);
      if (command)
        w.calls = command.calls({ faultAt, endAt, hangMs: run.streamMs + run.watchdogMs, watch: scenario.watch });
    }
    // What is still open has hung: the lab gives up on it.
    await Promise.all(
      run.watches.flatMap((w) =>
        w.calls
          .filter((c) => !c.handle.settled)
          .map(async (c) => {
            c.abandonedAt = performance.now();
            await c.handle.abandon();
          }),
      ),
    );
    const { marks, serverState, heldAtStop, gone, backends } = run;
    return await Promise.all(
      run.watches.map((w) =>
        channelRecord(w, { scenario, marks, serverState, heldAtStop, gone, endAt, ctx, backends }),
      ),
    );
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return run.watches.map((w) => channelLabError(w, why, true));
  } finally {
    await tearDownChannelScene(run);
  }
}

/** The scene's servers (fresh or long-lived, one per backend), successors, and every observer's relays and channel. */
async function setUpChannelScene(run: ChannelRun): Promise<void> {
  const { scene, ctx, scenario, backends, watches } = run;
  const s = ctx.settings;
  const stack = scene.server;
  if (!stack) throw new Error("a channel scene needs a server stack");
  // A relay must be able to stop listening and listen again on its port when a server is killed
  // and comes back: such a port is taken below the range the kernel hands out by itself.
  const kills = stepsOf(scenario).some((step) => step.do === "signal" && step.signal === "SIGKILL");
  for (let i = 0; i < backends; i++) {
    const args = backendArgs(scene, i);
    const own = freshBackend(scene, i);
    const server = own ? await ctx.servers.fresh(stack, args) : await ctx.servers.shared(stack, args);
    if (own) run.fresh.push(server);
    run.servers.push(server);
  }
  // A restart's successor starts now, on a port of its own, and takes the relays' port at the
  // restart step: the outage is the scenario's, not the second or more a Node process takes to
  // start on a loaded machine (once 2.4 s, and a 0.5 s outage outlasted a retry policy).
  for (const step of stepsOf(scenario)) {
    if (step.do !== "restart") continue;
    const b = step.backend ?? 0;
    run.successors[b] ??= startServer(stack, ["--port", "0", ...backendArgs(scene, b)], 0, [], true);
  }
  // Every observer's relays and channel.
  await settleAll(
    watches.map(async (w) => {
      for (let i = 0; i < backends; i++) {
        const host = backendHost(backends > 1 ? i : 0);
        w.relays.push(
          await createRelay({
            host,
            targetHost: host,
            targetPort: run.servers[i]?.port ?? 0,
            port: kills ? await freeFixedPort(host) : undefined,
            decode: ctx.tap,
            tls: ctx.tls?.keyLog,
          }),
        );
      }
      const { client, labCase } = w.observer.cell;
      const target =
        backends > 1
          ? ["--target", `ipv4:${w.relays.map((r, i) => `${backendHost(i)}:${r.port}`).join(",")}`]
          : ["--port", String(w.relays[0].port)];
      const args = [
        "--protocol",
        client.protocol,
        ...target,
        ...w.observer.cell.clientArgs,
        ...(labCase.channel?.channelArgs?.(s) ?? []),
      ];
      if (labCase.ownProcess?.includes(client.client)) w.agent = ctx.agents.own(client);
      try {
        w.channel =
          client.program.kind === "command"
            ? openCommandChannel(client, args, () => w.relays[0].connections)
            : await (w.agent ?? ctx.agents.get(client)).open(args);
      } catch (e) {
        w.broken = `the channel did not open: ${e instanceof Error ? e.message : String(e)}`;
      }
    }),
  );
  // How long a healthy call of these servers takes: its messages, one pause apart.
  const flag = (name: string, fallback: number) => {
    const i = scene.serverArgs.lastIndexOf(name);
    return i >= 0 ? Number(scene.serverArgs[i + 1]) : fallback;
  };
  run.streamMs = flag("--count", s.channel.count) * flag("--interval-ms", s.channel.intervalMs);
  // As scene.ts: a client that keeps its PINGs further apart than it was told (gRPC core ~1 s,
  // grpc-go and grpc-java 10 s) gets the time its own keepalive takes.
  run.watchdogMs = Math.max(
    s.watchdogMs,
    ...watches.map(({ observer: { cell } }) =>
      cell.client.keepaliveFloorMs !== undefined &&
      (cell.labCase.channel?.channelArgs?.(s) ?? []).includes("--ping-interval-ms")
        ? floorWatchdogMs(keepaliveBoundMs(cell.client, s))
        : 0,
    ),
  );
}

/** One step of the timeline, done to every observer together. */
async function runChannelStep(run: ChannelRun, step: ChannelStep, index: number): Promise<void> {
  const { ctx, watches, marks, backends, servers } = run;
  const s = ctx.settings;
  const live = () => watches.filter((w) => w.channel && !w.broken);
  const callArgs = (own: ChannelStep | undefined) =>
    own?.do === step.do && (own.do === "call" || own.do === "calls") ? (own.args?.(s) ?? []) : [];
  /** Each observer's own step at this position (observers of different cases share a skeleton). */
  const ownStep = (w: ChannelWatch) => w.observer.cell.labCase.channel?.steps[index];
  const startCalls = (label: string) =>
    live().map((w) => {
      const call = { label, handle: (w.channel as AgentChannel).call(callArgs(ownStep(w))) };
      // A client command's calls are its own, read from its lines at the end (command-channel.ts).
      if (!commandOf(w)) w.calls.push(call);
      return call;
    });
  /** The client commands' calls under way now: what a settle waits for in them. */
  const commandCalls = () => {
    const since = performance.now();
    return live().flatMap((w) => commandOf(w)?.callAfter(since, true) ?? []);
  };
  const waitFor = (calls: ChannelCall[], ms: number, also: Promise<void>[] = []) =>
    within(Promise.all([...calls.map((c) => c.handle.result.catch(() => undefined)), ...also]), ms);
  const relaysOf = (backend: number | undefined) =>
    watches.flatMap((w) => (backend === undefined ? w.relays : [w.relays[backend]]));
  const where = (b: number) => (backends > 1 ? `backend ${b}` : "server");

  if (step.do === "signal" || step.do === "network" || step.do === "restart") run.faulted = true;
  switch (step.do) {
    case "call": {
      const calls = startCalls(step.label);
      // Before the fault a call may wait as long as a new channel takes to connect on a loaded
      // machine (a first call once took over 1.5 s three tries running, in CI): the fault comes
      // once it has shown the channel working. After the fault the watchdog bounds it.
      const waitMs = run.streamMs + (run.faulted ? run.watchdogMs : Math.max(run.watchdogMs, startTimeoutMs));
      if (step.wait === "message") {
        await Promise.all(calls.map((c) => c.handle.firstMessage(waitMs).catch(() => undefined)));
      } else if (step.wait) await waitFor(calls, waitMs);
      return;
    }
    case "calls": {
      const every = step.everyMs(s);
      const until = performance.now() + step.forMs(s);
      for (let next = performance.now(); next < until; next += every) {
        await sleep(Math.max(0, next - performance.now()));
        startCalls(step.label);
      }
      return;
    }
    case "pause":
      await sleep(step.ms(s));
      return;
    case "signal": {
      const b = step.backend ?? 0;
      const server = servers[b];
      if (!server) throw new Error(`no backend ${b}`);
      if (step.signal === "SIGKILL") {
        // A dead server's port refuses: its relays stop listening first (a listening relay would
        // accept and then reset, which a client reads otherwise).
        await Promise.all(relaysOf(b).map((r) => r.pause()));
      }
      server.child.signal(step.signal);
      marks.push({ target: where(b), what: step.signal, at: performance.now() });
      if (step.signal === "SIGSTOP") {
        const stopped = await seenStopped(server.child.pid, stopSeenWithinMs, () => {
          run.heldAtStop = heldNow(relaysOf(b), "server");
        });
        run.serverState[b] = { stopped };
      } else if (step.signal === "SIGKILL") {
        const exit = await within(server.child.exited, 2000);
        run.serverState[b] = { exit: exit && { code: exit.code, signal: exit.signal } };
        // As scene.ts: a killed server reaches its clients when it is gone, not at the signal.
        if (exit) run.gone = exit.at;
      }
      return;
    }
    case "restart": {
      const b = step.backend ?? 0;
      const next = run.successors[b];
      if (!next) throw new Error(`no backend ${b} to restart`);
      const due = performance.now();
      const successor = await next;
      const late = performance.now() - due;
      // A successor still starting would stretch the outage past the scenario's.
      if (late > 100) {
        throw new Error(
          `the restarted server was ready ${Math.round(late)} ms after its moment: the machine is too busy for these timings`,
        );
      }
      servers[b] = successor;
      await Promise.all(relaysOf(b).map((r) => r.resume(successor.port)));
      marks.push({ target: where(b), what: "restarted", at: performance.now() });
      return;
    }
    case "network": {
      const at = relaysOf(step.backend).map((r) => r.setMode(step.mode, step.scope))[0] ?? performance.now();
      const what = `${step.mode}${step.scope === "existing" ? " (open connections)" : ""}`;
      marks.push({ target: step.backend === undefined ? "network" : `backend ${step.backend}`, what, at });
      return;
    }
    case "client-saw-close": {
      // Every connection whose server end closed has been closed by the client too: the client
      // has taken the close in, and a call made now is made knowing it (a busy client that has
      // not yet read it puts the call on the closing connection: a race, not this case's point).
      const seen = () =>
        watches.every((w) =>
          w.relays.every((relay) =>
            relay.connections.every(
              (c) =>
                !c.tcp.some((e) => e.leg === "server" && e.by === "server" && e.event !== "open") ||
                c.tcp.some((e) => e.leg === "client" && e.by === "client" && e.event !== "open"),
            ),
          ),
        );
      for (const until = performance.now() + 2000; !seen() && performance.now() < until; ) await sleep(5);
      return;
    }
    case "settle":
      // Every call gets its stream's length and the watchdog past this moment, or what the step says.
      await waitFor(
        watches.flatMap((w) => w.calls),
        step.ms?.(s) ?? run.streamMs + run.watchdogMs,
        commandCalls(),
      );
      return;
  }
}

/** Ends everything the scene started: calls, channels, agents of its own, relays, servers. */
async function tearDownChannelScene(run: ChannelRun): Promise<void> {
  const { watches } = run;
  await Promise.all(watches.flatMap((w) => w.calls.map((c) => c.handle.abandon())));
  await Promise.all(watches.map((w) => w.channel?.close()));
  await Promise.all(watches.map((w) => w.agent?.stop()));
  await Promise.all(watches.flatMap((w) => w.relays.map((r) => r.close())));
  await Promise.all(run.fresh.map((f) => f.child.stop()));
  await Promise.all(
    run.successors.map((p) =>
      p?.then(
        (f) => f.child.stop(),
        () => undefined,
      ),
    ),
  );
}

interface RecordContext {
  scenario: ChannelScenario;
  marks: Mark[];
  serverState: Observation["server"][];
  heldAtStop: Observation["heldAtStop"];
  gone: number | undefined;
  endAt: number;
  ctx: SceneContext;
  backends: number;
}

/** The record of one observer's channel: its calls, its outcome, the evidence of the fault. */
async function channelRecord(w: ChannelWatch, r: RecordContext): Promise<RunRecord> {
  if (w.broken) return channelLabError(w, w.broken);
  const { scenario, marks } = r;
  const faults = marks.filter((m) => m.what !== "restarted");
  const origin = faults[0]?.at ?? w.calls[0]?.handle.starts[0] ?? r.endAt;
  const rel = (at: number) => Math.round(at - origin);
  const { results, crashed } = await callResults(w);
  // A call the agent could not make (not a hang, not an answer) makes the run worthless.
  const failed = results.find((x, i) => x instanceof Error && w.calls[i].abandonedAt === undefined);
  if (failed instanceof Error) return channelLabError(w, failed.message);
  const mistimed = crashed ? undefined : mistimedChannel(w, r, results);
  if (mistimed) return mistimed;
  const calls: ChannelCallRecord[] = w.calls.map((c, i) => {
    const x = results[i];
    const start = c.handle.starts[0] ?? origin;
    const first = c.handle.messages[0]?.at;
    const answered = !(x instanceof Error) && c.abandonedAt === undefined;
    return {
      label: c.label,
      startMs: rel(start),
      endMs: rel(answered ? fromEpoch((x as CallsRecord).endedAt) : (c.abandonedAt ?? r.endAt)),
      code: answered ? (x as CallsRecord).code : "hang",
      message: answered ? (x as CallsRecord).message : "",
      received: c.handle.messages.length,
      firstMessageMs: first === undefined ? null : rel(first),
    };
  });
  const watched = calls.filter((c) => c.label === scenario.watch);
  const failedCodes: Record<string, number> = {};
  for (const c of watched)
    if (c.code !== "ok" && c.code !== "hang") failedCodes[c.code] = (failedCodes[c.code] ?? 0) + 1;
  const recoveryMs = recovery(watched, marks, origin);
  const summary = {
    ok: watched.filter((c) => c.code === "ok").length,
    failed: failedCodes,
    hung: watched.filter((c) => c.code === "hang").length,
    recoveryMs,
  };
  const code = channelOutcome(watched.map((c) => c.code));
  const firstWatched = watched[0];
  const ended = firstWatched && firstWatched.code !== "hang" ? firstWatched : undefined;
  // The fault's moment: a killed server's end, or its first step.
  const faultMs = r.gone !== undefined ? rel(r.gone) : faults.length > 0 ? 0 : undefined;
  const detectMs =
    scenario.time === "call"
      ? ended
        ? ended.endMs - ended.startMs
        : null
      : scenario.time === "fault"
        ? ended && faultMs !== undefined
          ? Math.max(0, ended.endMs - faultMs)
          : null
        : scenario.time === "recovery"
          ? recoveryMs
          : null;

  // The evidence is read on the backend the fault hit (backend 0 unless a step names another).
  const b = faultBackend(scenario);
  const observation: Observation = {
    faultAt: faults[0]?.at,
    endAt: r.endAt,
    connections: w.relays[b]?.connections ?? [],
    ownSettings: w.observer.cell.profile !== "lab",
    count: r.ctx.settings.channel.count,
    server: r.serverState[b] ?? {},
    heldAtStop: r.heldAtStop,
  };
  const labCase = w.observer.cell.labCase;
  const missing = r.ctx.tap ? missingEvidence(labCase.evidence, observation) : [];
  const failures = Object.entries(failedCodes)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  const oddMessage = [...new Set(watched.filter((c) => c.code !== "ok" && c.message).map((c) => c.message))][0];
  const record: RunRecord = {
    code,
    message:
      watched.length === 1
        ? (firstWatched?.message ?? "")
        : `${summary.ok} ok${failures ? `, ${failures}` : ""}${summary.hung ? `, ${summary.hung} hung` : ""} of ${watched.length}${oddMessage ? ` ("${oddMessage}")` : ""}`,
    received: watched.reduce((n, c) => n + c.received, 0),
    messages: [],
    detectMs,
    hung: summary.hung > 0,
    exitMs: null,
    call: null,
    caller: "agent",
    timeline: {
      callStartMs: calls[0]?.startMs ?? null,
      messagesMs: [],
      faults: marks.map((m) => ({ target: m.target, what: m.what, atMs: rel(m.at) })),
      endMs: rel(r.endAt),
    },
    wire: r.ctx.tap
      ? w.relays.flatMap((relay, i) =>
          relay.connections.map((c) => wireRecord(c, origin, undefined, r.backends > 1 ? i : undefined)),
        )
      : null,
    evidence: { checked: r.ctx.tap, says: labCase.evidence.map((e) => e.says), missing },
    channel: { calls, summary },
  };
  return missing.length > 0
    ? {
        // With several backends, a channel that sent nothing to the one the fault hit went past it
        // before the fault (pick_first's 250 ms to the next address, on a loaded machine): tried again.
        ...(missing.every((why) => why.endsWith(tooBusy) || (r.backends > 1 && why.endsWith(noCall))) && {
          retryable: true,
        }),
        ...record,
        code: "lab-error",
        clientCode: code,
        message: `no evidence of the fault: ${missing.join("; ")}`,
      }
    : record;
}

/** Every call's record, or the error that kept it from one; a client that crashed ended the open ones "crashed". */
async function callResults(w: ChannelWatch): Promise<{ results: (CallsRecord | Error)[]; crashed: Exit | undefined }> {
  const results: (CallsRecord | Error)[] = await Promise.all(
    w.calls.map((c) =>
      c.handle.result.then(
        (x): CallsRecord | Error => x,
        (e: Error) => e,
      ),
    ),
  );
  // A client that died of its own fault (an agent of its own: LabCase.ownProcess) ended every
  // call still open then: that is what it did, "crashed".
  const exit = w.agent?.exit;
  const crashed = exit?.signal && crashSignals.includes(exit.signal) ? exit : undefined;
  if (crashed) {
    for (const [i, x] of results.entries()) {
      if (!(x instanceof Error)) continue;
      const { client, protocol } = w.observer.cell.client;
      const start = w.calls[i].handle.starts[0] ?? crashed.at;
      results[i] = {
        client,
        protocol,
        code: "crashed",
        grpcCode: -1,
        message: `the client process died of ${crashed.signal}`,
        received: w.calls[i].handle.messages.length,
        firstMessageMs: null,
        elapsedMs: Math.round(crashed.at - start),
        arrivalsMs: [],
        endedAt: epochMs(crashed.at),
      };
    }
  }
  return { results, crashed };
}

/**
 * A run the machine mistimed, a retried lab error: a channel not seen to work before its fault, a
 * watched call over before the fault it was to meet, a connection closed before the fault reached
 * it, a backend the scenario leaves alone dropped on keepalive.
 */
function mistimedChannel(w: ChannelWatch, r: RecordContext, results: (CallsRecord | Error)[]): RunRecord | undefined {
  const { scenario } = r;
  const faults = r.marks.filter((m) => m.what !== "restarted");
  // Before its fault the channel must have been seen to work: a call ended ok before it (or, where
  // the watched call is meant to be under way at the fault, had a message). A channel so slow to
  // connect that its early calls all went out together just before the fault would otherwise read
  // "hang" where the scenario means "ok+hang" (CI, a busy machine). Such a run proves nothing and
  // is tried again.
  const faultAt = faults[0]?.at;
  if (faultAt !== undefined) {
    const before = w.calls.filter((c) => (c.handle.starts[0] ?? Number.POSITIVE_INFINITY) < faultAt);
    const worked = before.some((c) => {
      const x = results[w.calls.indexOf(c)];
      const endedOk = !(x instanceof Error) && x.code === "ok" && fromEpoch(x.endedAt) < faultAt;
      const hadMessage = (c.handle.messages[0]?.at ?? Number.POSITIVE_INFINITY) < faultAt;
      return endedOk || (scenario.underWayAtFault === true && hadMessage);
    });
    const first = w.calls.find((c) => c.label === scenario.watch);
    const firstResult = first && results[w.calls.indexOf(first)];
    if (
      scenario.underWayAtFault &&
      firstResult &&
      !(firstResult instanceof Error) &&
      fromEpoch(firstResult.endedAt) <= faultAt
    ) {
      return channelLabError(
        w,
        "the call ended before the fault came: the machine is too busy for these timings",
        true,
      );
    }
    const b = faultBackend(scenario);
    const openAtFault = (w.relays[b]?.connections ?? []).some(
      (c) =>
        c.tcp.some((e) => e.leg === "client" && e.event === "open" && e.at < faultAt) &&
        !c.tcp.some((e) => e.event !== "open" && e.at < faultAt),
    );
    if (scenario.openAtFault && !openAtFault) {
      const why =
        "the channel's connection had closed before the fault came (the fault found no connection to act on): the machine is too busy for these timings";
      return channelLabError(w, why, true);
    }
    if (before.length > 0 && !worked) {
      // Say how the calls before it ended, so that a run tried three times says why.
      const seen = before
        .slice(0, 3)
        .map((c) => {
          const x = results[w.calls.indexOf(c)];
          return `${c.label}: ${x instanceof Error ? "no result" : `${x.code} at ${Math.round(fromEpoch(x.endedAt) - faultAt)} ms`}`;
        })
        .join(", ");
      const why = `the channel had not worked before the fault (no call ended ok before it; ${seen}): the machine is too busy for these timings`;
      return channelLabError(w, why, true);
    }
    // A backend the scenario left alone must not lose its connection to the client's keepalive. When
    // the client gave up on one after a PING its running server answered late or not before the
    // close, the machine starved that server, and the run measures the machine (seen in CI: every
    // backend dropped in turn, calls unavailable for 2 s).
    const timeoutMs = r.ctx.settings.keepalive.timeoutMs;
    // Only while calls ran: the lab closes the channel (and every connection) once they are over.
    const lastEnd = Math.max(faultAt, ...results.flatMap((x) => (x instanceof Error ? [] : [fromEpoch(x.endedAt)])));
    for (const [i, relay] of w.relays.entries()) {
      if (i === b) continue;
      // The client closed a healthy backend's connection within a keepalive timeout (and some) of
      // a PING: the ACK came late, never, or in time to a client too starved to read it (seen in
      // CI: the relay passed the ACK at once, and the client dropped the backend all the same).
      const starved = relay.connections.some((c) => {
        const closedByClient = (from: number, to: number) =>
          c.frames.some((f) => f.dir === "c2s" && f.type === "GOAWAY" && f.at > from && f.at <= to) ||
          c.tcp.some((e) => e.leg === "client" && e.by === "client" && e.event !== "open" && e.at > from && e.at <= to);
        return c.frames.some(
          (p) =>
            p.dir === "c2s" &&
            p.type === "PING" &&
            !p.flags.includes("ACK") &&
            closedByClient(p.at, Math.min(lastEnd, p.at + 2 * timeoutMs + 500)),
        );
      });
      if (starved) {
        const why = `the client dropped backend ${i}, which the scenario leaves alone, on keepalive: ${tooBusy}`;
        return channelLabError(w, why, true);
      }
    }
  }
  return undefined;
}

/** The backend the fault hits, where its evidence is read: backend 0 unless a step names another. */
const faultBackend = (scenario: ChannelScenario): number =>
  scenario.steps.map(backendOf).find((backend) => backend !== undefined) ?? 0;

/** The backend a step acts on, where it names one. */
const backendOf = (step: ChannelStep): number | undefined =>
  step.do === "signal" || step.do === "restart" || step.do === "network" ? step.backend : undefined;

/** How many calls in a row must end ok, last of all, for a channel to count as recovered. */
const recoveredAfter = 5;

/**
 * From the last fault step (a restart: the new server listening) to the
 * first message of the first watched call from which on every watched call
 * ended ok, when at least `recoveredAfter` of them did (a channel that sends
 * every third call to a dead backend has not recovered because the last two
 * went elsewhere); 0 when none failed; null when it did not recover.
 */
function recovery(watched: readonly ChannelCallRecord[], marks: readonly Mark[], origin: number): number | null {
  if (watched.length === 0) return null;
  const sorted = [...watched].sort((a, b) => a.startMs - b.startMs);
  let from = sorted.length;
  while (from > 0 && sorted[from - 1].code === "ok") from--;
  if (from === 0) return 0;
  if (sorted.length - from < recoveredAfter) return null;
  const first = sorted[from].firstMessageMs;
  const ref = marks.length > 0 ? Math.round(marks[marks.length - 1].at - origin) : 0;
  return first === null ? null : Math.max(0, first - ref);
}

function channelLabError(w: ChannelWatch, why: string, retryable = false): RunRecord {
  const says = w.observer.cell.labCase.evidence.map((e) => e.says);
  return { ...(retryable && { retryable: true }), ...runWithoutCall("lab-error", why, "agent", says) };
}
