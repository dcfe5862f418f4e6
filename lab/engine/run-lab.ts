import type { LabCase } from "../catalogue/cases.ts";
import { type Profile, profileArgs, readProfile } from "../catalogue/profiles.ts";
import type { LabSettings } from "../catalogue/settings.ts";
import type { ClientStack, ServerStack } from "../catalogue/stacks.ts";
import { tooBusy } from "../faults/evidence.ts";
import type { AgentRecord, CellResult } from "../reports/results.ts";
import { type RunRecord, runWithoutCall } from "../reports/run-record.ts";
import { runChannelScene } from "./channel-scene.ts";
import { logTlsKeys } from "./child-process.ts";
import { createAgentPool } from "./client-agent.ts";
import { createCpuWaitMeter } from "./cpu-pressure.ts";
import { clientTlsArgs, type LabTls, serverTlsArgs } from "./lab-tls.ts";
import {
  backendArgs,
  estimateMs,
  freshBackend,
  maxObservers,
  notApplicable,
  type Observer,
  planCells,
  planScenes,
  type Scene,
  sceneEstimateMs,
} from "./plan.ts";
import { createProxyPool } from "./proxy-pool.ts";
import { runScene, type SceneContext } from "./scene.ts";
import { createServerPool } from "./server-pool.ts";
import { runServerScene } from "./server-scene.ts";
import { type Shard, shardCells } from "./shards.ts";
import { within } from "./within.ts";

export interface LabPlan {
  cases: readonly LabCase[];
  /** The servers and clients chosen; each case pairs them up with stackPairs. */
  servers: readonly ServerStack[];
  clients: readonly ClientStack[];
  /** Runs per cell. */
  repeat: number;
  /** Runs going on at once. */
  jobs: number;
  settings: LabSettings;
  /** Fresh processes for every run (today's reference) instead of agents and long-lived servers. */
  isolate?: boolean;
  /** The wire tap on every run with a server. Default: true. */
  tap?: boolean;
  /** --tls (issue 19): every server, proxy and client on HTTP/2 over TLS. Default: none, h2c. */
  tls?: LabTls;
  /** The call every client makes instead of Chat (issue 28: --method, --request, --descriptor-set). Default: Chat. */
  callArgs?: string[];
  /** Run the fault peer with --sabotage: its faults miss the wire (tests of the evidence check). */
  sabotagePeer?: boolean;
  /** The stacks' settings (issue 18). Default: the built-in `lab` profile. */
  profile?: Profile;
  /** Run this machine's share of the cells only (--shard K/N, issue 29). Default: every cell. */
  shard?: Shard;
}

export interface RunProgress {
  runs: number;
  totalRuns: number;
  cells: number;
  totalCells: number;
  /** The share of the plan's estimated run time (plan.ts estimateMs) in the runs done, 0-1: for an ETA. */
  workDone: number;
}

export interface RunLabOptions {
  /** Called after each run: runs and cells done, and their totals (a cell is done with its last run). */
  onRun?: (progress: RunProgress, cell: CellResult) => void;
  /** Stops handing out new scenes when aborted (scenes under way still end cleanly). */
  signal?: AbortSignal;
}

export interface LabOutcome {
  cells: CellResult[];
  /** The client agents, with how late their timers ran. */
  agents: AgentRecord[];
  /** Agents started, replacements of dead ones included. */
  agentsStarted: number;
}

/**
 * Starts the agents and the long-lived Chat server, and makes one health
 * check per client stack before the first scene: a cold agent takes ~100 ms
 * more for its first calls, and a scene's calls must reach message 1 close
 * together.
 */
async function warmUp(plan: LabPlan, ctx: SceneContext, scenes: readonly Scene[]): Promise<void> {
  const server = plan.servers.find((s) => !s.peerOnly);
  // Only the agents the runs call (issue 29: a JVM agent's start alone is ~0.5 s of CPU, and a
  // shard or a --cases run may have none of a stack's calls in agents).
  const called = new Set(
    scenes.flatMap((n) => n.observers.filter((o) => o.caller === "agent").map((o) => o.cell.client.id)),
  );
  const clients = plan.clients.filter((client) => called.has(client.id));
  // The long-lived server starts all the same: its start, before any scene, takes the cold start of
  // its runtime out of the first scenes' timings (your own server's among them, issue 28).
  if (!server) return;
  const s = plan.settings;
  const { port } = await ctx.servers.shared(server, [
    ...profileArgs(plan.profile ?? readProfile("lab", s), "server", server.id),
    "--count",
    String(s.count),
    "--interval-ms",
    String(s.intervalMs),
    ...serverTlsArgs(ctx.tls),
  ]);
  await Promise.all(
    clients
      // A user's client command has no agent: each of its runs is a process of its own.
      .filter((client) => server.protocols.includes(client.protocol) && client.program.kind !== "command")
      .map((client) =>
        ctx.agents
          .get(client)
          // A browser has no health call: a Chat call loads its first page (issue 19).
          .call([
            "--port",
            String(port),
            "--protocol",
            client.protocol,
            ...(client.browser ? [] : ["--health"]),
            ...clientTlsArgs(ctx.tls),
          ])
          .result.catch(() => {}),
      ),
  );
}

/** The run of a cell whose client stack cannot take part in its channel scenario: why, in the report. */
function notApplicableRun(why: string): RunRecord {
  return runWithoutCall(notApplicable, why, "agent");
}

/**
 * How many channels (issue 17) may be under way at once, whatever the jobs:
 * each makes calls all along, and at a fault all react together. More made
 * the agents fall behind their timers by hundreds of ms and the servers'
 * first calls slow, and calls that would have ended were taken for hangs.
 */
const maxChannelsAtOnce = 45;

/** A share of a scene's time with tasks waiting for a CPU (PSI) at which its timings measure the machine. */
const starvedShare = 0.8;

/**
 * A run that ended outside the outcomes the catalogue states for its cell, in
 * a scene the machine starved (tasks waited for a CPU 80% of its time or
 * more): a peer that answered a 250 ms PING late, a relay that reached a
 * reconnecting channel's server late (grpc-js 1.13+ waits for SETTINGS with no
 * time limit). That measures the machine, not the client: tried again (three
 * tries at most, each reason kept), and a stated outcome never is. Cells whose
 * outcomes the catalogue does not state for these settings (a release of
 * --versions, another profile) are not held to them, here either.
 */
function starvedRun(run: RunRecord, observer: Observer, share: number): RunRecord {
  const expected = observer.cell.result.expected;
  // A fault not seen as planned in a starved scene: a peer too late on its own timers (seen in CI:
  // a grpc-js server at 97% CPU wait sent message 2 of a 150 ms stream 508 ms late, and a drain's
  // grace ran out before message 3). Tried again; never a finding either way.
  if (share >= starvedShare && run.code === "lab-error" && !run.retryable && run.evidence.missing.length > 0) {
    return {
      ...run,
      message: `${run.message}, while tasks waited for a CPU ${Math.round(share * 100)}% of the scene: ${tooBusy}`,
      retryable: true,
    };
  }
  if (share < starvedShare || expected.otherSettings || run.code === "lab-error" || run.code === notApplicable)
    return run;
  if (expected.allowed.includes(run.code)) return run;
  return {
    ...run,
    code: "lab-error",
    clientCode: run.code,
    message: `${run.code}, which the catalogue does not state for this cell, while tasks waited for a CPU ${Math.round(share * 100)}% of the scene: ${tooBusy}`,
    retryable: true,
  };
}

/** How many fresh servers to start ahead of the scenes that need them. */
const warmAhead = 2;
/** Tries a run gets when the lab botched it for timing (see labError in scene.ts). */
const maxAttempts = 3;

/**
 * Runs every cell of the plan `repeat` times: scenes of runs that watch one
 * fault, `jobs` runs at a time, the longest scenes first so that the last
 * seconds are not spent waiting for one slow hang case.
 */
/** The plan's cells and its scenes, longest first; a cell a stack cannot take part in has its one run saying why. */
function planRun(plan: LabPlan) {
  const tap = plan.tap ?? true;
  const sabotage = plan.sabotagePeer ? ["--sabotage"] : [];
  const planOptions = {
    cases: plan.cases,
    servers: plan.servers,
    clients: plan.clients,
    repeat: plan.repeat,
    settings: plan.settings,
    isolate: plan.isolate ?? false,
    profile: plan.profile ?? readProfile("lab", plan.settings),
    peerArgs: sabotage,
    tap,
    tls: plan.tls,
    callArgs: plan.callArgs ?? [],
  };
  const cells = plan.shard
    ? shardCells(planCells(planOptions), plan.shard, plan.settings, plan.repeat)
    : planCells(planOptions);
  // A scenario a client stack cannot take part in: one run that says why (issues 17, 27).
  for (const cell of cells) {
    if (cell.result.expected.rule[0] !== notApplicable) continue;
    cell.result.runs.push(notApplicableRun(cell.result.expected.cite));
  }
  const scenes = planScenes(cells, planOptions).sort(
    (a, b) => sceneEstimateMs(b, plan.settings) - sceneEstimateMs(a, plan.settings),
  );
  return { cells, scenes, tap, sabotage };
}

/** The pools a run's scenes draw on: client agents, servers (the fault peer's faults among them), proxies. */
function createPools(plan: LabPlan, sabotage: string[], tap: boolean): SceneContext {
  const peerCases = plan.cases.filter((c) => c.peer !== undefined);
  const faults = [...new Set(peerCases.map((c) => c.serverArgs?.(plan.settings)[1] ?? c.id))];
  const agents = createAgentPool({ browserArgs: clientTlsArgs(plan.tls) });
  const servers = createServerPool({
    peerArgs: [
      "--fault",
      faults.join(","),
      "--delay-ms",
      String(plan.settings.intervalMs),
      ...sabotage,
      ...serverTlsArgs(plan.tls),
    ],
  });
  // Every run going on at once may be behind one proxy: its slots never make a run wait.
  const proxies = createProxyPool({
    settings: plan.settings,
    slots: Math.max(plan.jobs, maxObservers(plan.settings)),
    tls: plan.tls,
  });
  return { settings: plan.settings, agents, servers, proxies, tap, tls: plan.tls };
}

/**
 * What the runs have done so far: each run's record put in its cell (or its scene tried again,
 * for runs the machine botched), and the progress in estimated run time.
 */
function createRunLedger(scenes: readonly Scene[], plan: LabPlan, options: RunLabOptions) {
  const total = scenes.reduce((n, scene) => n + scene.observers.length, 0);
  // Runs each cell gets (a channel scenario that watches many calls runs once: plan.ts).
  const planned = new Map<CellResult, number>();
  for (const scene of scenes)
    for (const { cell } of scene.observers) planned.set(cell.result, (planned.get(cell.result) ?? 0) + 1);
  // Runs differ 100-fold in length (a watchdog's 1.6 s, a channel's 10 s): progress is counted in
  // estimated run time, not in runs, or the ETA of the first minute is off by orders of magnitude.
  const workOf = (o: Scene["observers"][number]) => estimateMs(o.cell.labCase, plan.settings, o.cell.client);
  const workTotal = Math.max(
    1,
    scenes.reduce((n, scene) => n + scene.observers.reduce((m, o) => m + workOf(o), 0), 0),
  );
  let workDone = 0;
  // Scenes under way count for the share of their estimate they have run: the longest scenes start
  // first and end last, and an ETA from finished runs alone began at 5x the real one.
  const inflight = new Map<Scene, { start: number; work: number; estimate: number }>();
  const workNow = () => {
    const now = performance.now();
    let partial = 0;
    for (const f of inflight.values()) partial += f.work * Math.min(1, (now - f.start) / Math.max(1, f.estimate));
    return Math.min(1, (workDone + partial) / workTotal);
  };
  let cellsDone = 0;
  let done = 0;
  const attempts = new Map<Scene, number>();
  /** Why each observer's earlier tries proved nothing: the record keeps it (issue 22). */
  const retried = new Map<Scene["observers"][number], string[]>();
  return {
    started(scene: Scene) {
      inflight.set(scene, {
        start: performance.now(),
        work: scene.observers.reduce((n, o) => n + workOf(o), 0),
        estimate: sceneEstimateMs(scene, plan.settings),
      });
    },
    ended(scene: Scene) {
      inflight.delete(scene);
    },
    /** Records a scene's runs; returns the scene to try again with the observers whose runs proved nothing. */
    record(scene: Scene, runs: RunRecord[]): Scene | undefined {
      const again: Scene["observers"] = [];
      const attempt = attempts.get(scene) ?? 1;
      for (const [i, { retryable, ...run }] of runs.entries()) {
        const observer = scene.observers[i];
        if (retryable && attempt < maxAttempts) {
          again.push(observer);
          retried.set(observer, [...(retried.get(observer) ?? []), run.message]);
          continue;
        }
        const cell = observer.cell.result;
        const earlier = retried.get(observer);
        cell.runs.push(attempt > 1 ? { ...run, attempts: attempt, ...(earlier && { retried: earlier }) } : run);
        if (cell.runs.length === planned.get(cell)) cellsDone++;
        workDone += workOf(observer);
        options.onRun?.(
          { runs: ++done, totalRuns: total, cells: cellsDone, totalCells: planned.size, workDone: workNow() },
          cell,
        );
      }
      if (again.length === 0) return undefined;
      const retry = { ...scene, observers: again };
      attempts.set(retry, attempt + 1);
      return retry;
    },
  };
}

/** How much of the jobs a scene takes: a server's view runs one call at a time; six channels weigh as one run. */
function weightOf(scene: Scene, jobs: number): number {
  if (scene.source === "server-view") return 1;
  if (scene.source === "channel") return Math.min(jobs, Math.ceil(scene.observers.length / 6));
  return Math.min(jobs, scene.observers.length);
}

/**
 * How long a scene may take before the lab stops waiting for it: every wait in a scene is bounded,
 * (a server's start queues behind others on a loaded machine: minutes, in a full matrix), so one
 * past five times its estimate and five minutes is a bug of the lab's. Its runs become lab
 * errors that say where (never a finding), and the run goes on (issue 27: a 30-minute full matrix
 * once sat idle for ten minutes behind one scene).
 */
const sceneLimitMs = (scene: Scene, s: LabSettings) => 5 * sceneEstimateMs(scene, s) + 300_000;

/** Runs one scene by its kind, each run's CPU wait measured and a starved one's outcome judged. */
async function runOneScene(scene: Scene, ctx: SceneContext, onRunEnded: () => void): Promise<RunRecord[]> {
  const cpuWait = createCpuWaitMeter();
  const limitMs = sceneLimitMs(scene, ctx.settings);
  const running =
    scene.source === "server-view"
      ? runServerScene(scene, ctx)
      : scene.source === "channel"
        ? runChannelScene(scene, ctx)
        : runScene(scene, ctx, onRunEnded);
  const runs =
    (await within(running, limitMs)) ??
    scene.observers.map((o) => {
      const what = `${o.cell.labCase.id} ${scene.server?.id ?? "(no server)"}<-${o.cell.client.id}`;
      return runWithoutCall(
        "lab-error",
        `the scene (${scene.source}, ${scene.observers.length} run(s), ${what} among them) did not end within ${Math.round(limitMs / 1000)} s: a bug of the lab's, not a finding`,
        o.caller,
        o.cell.labCase.evidence.map((e) => e.says),
      );
    });
  const share = cpuWait.share();
  if (share === null) return runs;
  return runs.map((r, i) => {
    const run = { ...r, cpuWait: Math.round(share * 100) / 100 };
    const observer = scene.observers[i];
    return observer ? starvedRun(run, observer, share) : run;
  });
}

export async function runLab(plan: LabPlan, options: RunLabOptions = {}): Promise<LabOutcome> {
  // Every process this run starts logs its TLS keys for the tap, or none does (h2c).
  logTlsKeys(plan.tls && { dir: plan.tls.keyLogDir, openssl: plan.tls.opensslKeyLog });
  const { cells, scenes, tap, sabotage } = planRun(plan);
  const ctx = createPools(plan, sabotage, tap);
  const { agents, servers, proxies } = ctx;
  const ledger = createRunLedger(scenes, plan, options);
  let free = Math.max(1, plan.jobs);
  // A run that ended gives back its slot before its scene ends (runScene's onRunEnded): the loop
  // waits for a scene to end or for such a slot.
  let slotFreed = () => {};
  const aSlotFreed = () => new Promise<void>((resolve) => (slotFreed = resolve));
  let channelsAtOnce = 0;
  const running = new Set<Promise<void>>();
  const warmed = new Set<Scene>();
  const queue = [...scenes];
  try {
    if (!plan.isolate) await warmUp(plan, ctx, scenes);
    for (let i = 0; i < queue.length || running.size > 0; i++) {
      if (i >= queue.length) {
        // Runs under way may yet need another try: wait for one to finish, then look again.
        await Promise.race(running);
        if (options.signal?.aborted) break;
        i--;
        continue;
      }
      // Channels under way are capped (see maxChannelsAtOnce): a channel scene that would pass the
      // cap gives its turn to the next scene that does not, and waits.
      const fits = (n: Scene) => n.source !== "channel" || channelsAtOnce + n.observers.length <= maxChannelsAtOnce;
      if (!fits(queue[i])) {
        const j = queue.findIndex((n, k) => k > i && fits(n));
        if (j < 0) {
          await Promise.race(running);
          i--;
          continue;
        }
        [queue[i], queue[j]] = [queue[j], queue[i]];
      }
      const scene = queue[i];
      const weight = weightOf(scene, plan.jobs);
      while (free < weight && running.size > 0) await Promise.race([...running, aSlotFreed()]);
      if (options.signal?.aborted) break;
      // Start the next scenes' own servers now: their loading overlaps this one's waiting
      // (not under --isolate, the reference, where every run starts its processes itself).
      if (!plan.isolate) warmNext(queue.slice(i + 1), warmed, servers);
      warmed.delete(scene);
      free -= weight;
      const channels = scene.source === "channel" ? scene.observers.length : 0;
      channelsAtOnce += channels;
      ledger.started(scene);
      // The scene keeps one slot until it ends (its processes end then).
      let given = 0;
      const onRunEnded = () => {
        if (given >= weight - 1) return;
        given++;
        free++;
        slotFreed();
      };
      const work: Promise<void> = runOneScene(scene, ctx, onRunEnded)
        .then((runs) => {
          ledger.ended(scene);
          if (options.signal?.aborted) return;
          const retry = ledger.record(scene, runs);
          if (retry) queue.push(retry);
        })
        .finally(() => {
          ledger.ended(scene);
          free += weight - given;
          channelsAtOnce -= channels;
          running.delete(work);
        });
      running.add(work);
    }
    const stats = await Promise.all(agents.alive().map((agent) => agent.stats()));
    return { cells: cells.map((cell) => cell.result), agents: stats, agentsStarted: agents.started };
  } finally {
    await Promise.all([servers.close(), agents.close(), proxies.close()]);
  }
}

/** Starts the fresh servers of the next few scenes, so that their loading overlaps the runs under way. */
function warmNext(next: readonly Scene[], warmed: Set<Scene>, servers: SceneContext["servers"]): void {
  for (const scene of next
    .filter((n) => (n.source === "fresh" || n.channel?.fresh) && !warmed.has(n))
    .slice(0, warmAhead)) {
    const backends = scene.channel?.backends ?? 1;
    for (let b = 0; b < backends; b++) {
      if (scene.server && (scene.source === "fresh" || freshBackend(scene, b)))
        servers.warm(scene.server, backendArgs(scene, b));
    }
    warmed.add(scene);
  }
}
