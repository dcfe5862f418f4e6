import { allowedOutcomes, type FaultStep, type LabCase, matchingDepartures } from "../catalogue/cases.ts";
import { type Profile, profileArgs, readProfile, withOption } from "../catalogue/profiles.ts";
import { releaseName } from "../catalogue/releases.ts";
import { floorWatchdogMs, type LabSettings } from "../catalogue/settings.ts";
import {
  type ClientStack,
  clientStacks,
  keepaliveBoundMs,
  type Refusal,
  type ServerStack,
  stackPairs,
} from "../catalogue/stacks.ts";
import type { CellResult } from "../reports/results.ts";
import { channelOutcome } from "./channel-outcome.ts";
import { clientTlsArgs, type LabTls, serverTlsArgs } from "./lab-tls.ts";

/** The outcome of a cell whose client stack cannot take part in its channel scenario. */
export const notApplicable = "n/a";

/** One cell (case x server x client/protocol) and the result its runs fill in. */
export interface CellPlan {
  labCase: LabCase;
  server: ServerStack;
  client: ClientStack;
  /** The flags that give the client its profile's settings (--options), before the case's own. */
  clientArgs: string[];
  /** The profile's name: "lab" for the lab's own settings (issue 18). */
  profile: string;
  result: CellResult;
}

/** One run of a cell in a scene. */
export interface Observer {
  cell: CellPlan;
  /** A call in the stack's long-lived agent, or a client process of its own. */
  caller: "agent" | "process";
}

/**
 * What runs together: one server (or none), the fault steps done to it
 * once, and the runs that watch it, each on a connection of its own.
 * - none: nothing listens (no-server);
 * - shared: a long-lived server that many scenes use at once (faults not on the server process);
 * - peer: the long-lived fault peer's listener for one fault;
 * - fresh: a server of the scene's own, because its steps act on the server process.
 */
export interface Scene {
  server: ServerStack | undefined;
  /**
   * server-view: a server of its own whose handler is watched, its runs one
   * after another (issue 13); channel: a channel's life (issue 17), on
   * servers of its own when its steps act on them, else the long-lived ones.
   */
  source: "none" | "shared" | "peer" | "fresh" | "server-view" | "channel";
  /** The server's flags, --port aside. */
  serverArgs: string[];
  /** For source "peer": which listener. */
  fault?: string;
  /** Steps on the server process (signals, restart): done once, watched by every observer. */
  serverSteps: FaultStep[];
  observers: Observer[];
  /** A channel scene: its servers' own (the steps act on them) or the long-lived ones, one per backend. */
  /** A channel scene: fresh servers where its steps act on them (see freshBackend), --isolate's everywhere; how many backends. */
  channel?: { fresh: boolean; isolate?: boolean; backends: number };
}

/** The address of a channel scenario's backend i: 127.0.0.1, 127.0.0.2, ... (all loopback on Linux). */
export const backendHost = (i: number) => `127.0.0.${i + 1}`;

/** A channel scene's server flags for backend i, --port aside. */
export const backendArgs = (scene: Scene, i: number) =>
  scene.channel && scene.channel.backends > 1 ? [...scene.serverArgs, "--host", backendHost(i)] : scene.serverArgs;

export interface PlanOptions {
  cases: readonly LabCase[];
  servers: readonly ServerStack[];
  clients: readonly ClientStack[];
  repeat: number;
  settings: LabSettings;
  /** --isolate: every run its own scene, with a fresh server and a client process (the reference). */
  isolate: boolean;
  /** The stacks' settings (issue 18): `lab` unless --profile says otherwise. */
  profile: Profile;
  /** Extra flags for every fault peer (--sabotage in tests). */
  peerArgs: string[];
  /**
   * The wire tap is on. Without it a run on the shared fault peer could not
   * be told from the others on its log, so each gets a fault peer of its own.
   */
  tap: boolean;
  /** --tls (issue 19): the servers' and clients' TLS flags. Default: none, h2c. */
  tls?: LabTls;
  /** The call every client makes instead of Chat (issue 28). Default: none, Chat. */
  callArgs?: readonly string[];
}

/**
 * How many runs watch one server at most. Their calls start together and the
 * fault waits for every one's message 1; more calls at once spread message 1
 * wider, and a run whose message 2 came first is a lab error. So the faster
 * messages come, the fewer share a server: 17 at the default 500 ms (a case
 * of the first question, 11 client stacks x 3 runs, in two scenes; the core
 * stacks' 5 x 3 in one), 4 at --quick's 100. With 17, the fault came
 * 20-25 ms after a run's message 1 at the median and 119-166 ms at the 99th
 * percentile (crash, suspend and shutdown in two default runs, 2026-12-05;
 * 135-234 ms with 12).
 */
export function maxObservers(s: LabSettings): number {
  return Math.max(4, Math.min(17, Math.floor(s.intervalMs / 25)));
}

/**
 * The same bound for one server: twice as many for the JVM, slow to start (grpc-java, whose start is
 * ~0.65 s of CPU, four times a Node or Python server's; issue 29), 33 at the default timings, a
 * first-question case's runs in one scene. Measured 2026-12-05, the fault after a grpc-java run's
 * message 1: in the default run 22 ms at the median and 103 ms at the 99th percentile (16 and 134
 * with 17: five JVMs start instead of nine); in `--full --servers grpc-java`, 26 and 288 ms against
 * 15 and 160, both --check clean, 14 and 12 runs tried again. Node's servers, which serve every
 * call on one thread, spread message 1 wider with 33 (connect-node's median 30 ms to 47), and keep 17.
 */
export function maxObserversOf(server: ServerStack, s: LabSettings): number {
  // The lab's own JVM only: your own server's start is measured (issue 28), its message-1 spread is not.
  const jvm = server.program.kind === "java";
  return jvm ? Math.max(4, Math.min(33, Math.floor(s.intervalMs / 15))) : maxObservers(s);
}

/**
 * How many runs behind a proxy watch one server at most: each call's set-up has two relays and
 * the proxy on its way, and message 1 spreads wider. With 17 (a --full run, 2026-12-05) the fault
 * came up to 493 ms after a haproxy run's message 1 (the 99th percentile 333 ms, nginx 191 ms),
 * and a run whose message 2 was under way read as a lab error; with 12, 250 ms at most (169, 100).
 */
export const maxProxiedObservers = 12;

/** How many runs of one browser watch one server at most: its pages load at their own pace. */
export const maxBrowserObservers = 3;

/**
 * A server's-view scene's runs, one after another, take at most this long by their estimates:
 * its server's start and its GC-ready heap cost more than the runs (issue 29: with 8 s, 27 servers
 * for the default run's 99 runs, with 16 s 12), and the scene still ends well before the run does.
 */
export const maxServerViewMs = 16000;

/**
 * How many channels watch one channel scene's servers at most: its steps come at set times, so no
 * call has to wait for another's message 1 (maxObservers' reason); the bound keeps a fault's
 * burst of reactions (every channel reconnecting at once) within what 2 cores absorb.
 */
export const maxChannelObservers = 15;

/**
 * The flags of a server that client processes watch together (LabCase.sharedByProcesses): they
 * reach message 1 only once they have loaded, some 0.2-0.5 s apart on a busy machine, so message 2
 * comes late. A server that does not take them (your own, issue 28) gets a process each instead.
 */
export const sharedProcessesArgs = (s: LabSettings) => ["--interval-ms", String(Math.max(3000, 6 * s.intervalMs))];

const onServer = (step: FaultStep) => step.kind === "restart" || (step.kind === "signal" && step.target === "server");
const onClient = (step: FaultStep) => step.kind === "signal" && step.target === "client";

/** The steps of a case that act on the server process. */
export const serverSteps = (labCase: LabCase): FaultStep[] => (labCase.fault ?? []).filter(onServer);
/** The steps of a case done per run. */
export const observerSteps = (labCase: LabCase): FaultStep[] => (labCase.fault ?? []).filter((s) => !onServer(s));

/**
 * The profile a case runs with: the run's, or for a knob case (issue 18)
 * `defaults` with the knob's one option set.
 */
export function profileOf(labCase: LabCase, options: Pick<PlanOptions, "profile" | "settings">): Profile {
  const knob = labCase.knob;
  if (!knob) return options.profile;
  const base = Object.entries(knob.also ?? {}).reduce(
    (profile, [name, value]) => withOption(profile, knob.section, name, value),
    readProfile("defaults", options.settings),
  );
  return withOption(base, knob.section, knob.option, knob.value);
}

/** The flags a case's server gets, --port aside: its profile's, then the case's own (which win). */
export function serverArgsOf(labCase: LabCase, server: ServerStack, options: PlanOptions): string[] {
  if (server.peerOnly)
    return [...(labCase.serverArgs?.(options.settings) ?? []), ...options.peerArgs, ...serverTlsArgs(options.tls)];
  // A knob case's profile is its own (defaults, and its option): serverAsShipped is that already.
  const profile =
    labCase.serverAsShipped && !labCase.knob && options.profile.name === "lab"
      ? readProfile("defaults", options.settings)
      : profileOf(labCase, options);
  return [
    ...profileArgs(profile, "server", server.id),
    ...caseServerArgs(labCase, server, options),
    ...serverTlsArgs(options.tls),
  ];
}

function caseServerArgs(labCase: LabCase, server: ServerStack, options: PlanOptions): string[] {
  const s = options.settings;
  if (labCase.channel) {
    const c = s.channel;
    return [
      "--count",
      String(c.count),
      "--interval-ms",
      String(c.intervalMs),
      // The lab reads no line of a channel scene's servers, and they would print one per message.
      "--quiet",
      ...(labCase.channel.serverArgs?.(s) ?? []),
    ];
  }
  return [
    "--count",
    String(s.count),
    "--interval-ms",
    String(s.intervalMs),
    ...(labCase.serverArgs?.(s, server) ?? []),
  ];
}

/** A channel scenario's steps that act on its servers' processes. */
const onServers = (labCase: LabCase) =>
  (labCase.channel?.steps ?? []).some((step) => step.do === "signal" || step.do === "restart");

/**
 * Does the scene need a fresh server for backend `i`: its steps signal or
 * restart it (or --isolate). The others come from the long-lived servers:
 * a Node server costs ~0.2 s of CPU to start, and the backends scenarios
 * fault one backend of three.
 */
export function freshBackend(scene: Scene, i: number): boolean {
  if (!scene.channel?.fresh) return false;
  const steps = scene.observers[0]?.cell.labCase.channel?.steps ?? [];
  return (
    scene.channel.isolate === true ||
    steps.some((step) => (step.do === "signal" || step.do === "restart") && (step.backend ?? 0) === i)
  );
}

/**
 * What makes two channel scenarios one scene: the same servers, flags and
 * faults at the same moments. Their calls may differ (each observer makes
 * its own); the steps' shape and times may not.
 */
function channelSkeleton(labCase: LabCase, s: LabSettings): string {
  const steps = (labCase.channel?.steps ?? []).map((step) => {
    switch (step.do) {
      case "call":
        return { do: step.do, wait: step.wait ?? false };
      case "calls":
        return { do: step.do, everyMs: step.everyMs(s), forMs: step.forMs(s) };
      case "pause":
        return { do: step.do, ms: step.ms(s) };
      case "settle":
        return { do: step.do, ms: step.ms?.(s) };
      default:
        return step;
    }
  });
  return JSON.stringify([labCase.channel?.backends ?? 1, steps]);
}

/** The client that calls in the server's view, where it is not the slow reader. */
const serverViewDriver = clientStacks.find((c) => c.id === "connect/grpc") as ClientStack;

/**
 * The cells of a case: each server with each client that speaks its
 * protocol; for the server's view, each server alone (its column is the
 * server, whoever drives it).
 */
function pairsOf(labCase: LabCase, options: PlanOptions): { server: ServerStack; client: ClientStack }[] {
  const servers = options.servers.filter((s) => !labCase.servers || labCase.servers.includes(s.id));
  if (labCase.view === "server") {
    return servers.filter((s) => !s.peerOnly).map((server) => ({ server, client: serverViewDriver }));
  }
  const clients = options.clients.filter((c) => !labCase.clients || labCase.clients.includes(c.client));
  return stackPairs(servers, clients, labCase.peer);
}

/** Every flag a case gives its client: its own, and a channel scenario's (its channel's, its calls', a list of backends). */
function caseClientFlags(labCase: LabCase, s: LabSettings): string[] {
  const channel = labCase.channel;
  if (!channel) return labCase.clientArgs?.(s) ?? [];
  const calls = channel.steps.flatMap((step) =>
    step.do === "call" || step.do === "calls" ? (step.args?.(s) ?? []) : [],
  );
  return [
    "--channel",
    ...(channel.channelArgs?.(s) ?? []),
    ...calls,
    // A scenario of several backends calls them as one target (channel-scene.ts).
    ...((channel.backends ?? 1) > 1 ? ["--target"] : []),
  ];
}

/** Every flag a case gives its server. */
const caseServerFlags = (labCase: LabCase, s: LabSettings) => [
  ...(labCase.serverArgs?.(s) ?? []),
  ...(labCase.channel?.serverArgs?.(s) ?? []),
];

/** The first refusal some of `args` meet, as "--flag, --other: why". */
function refusal(refuses: readonly Refusal[] | undefined, args: readonly string[]): { why: string } | undefined {
  for (const r of refuses ?? []) {
    const flags = r.flags.filter((f) => args.includes(f));
    if (flags.length > 0) return { why: `${flags.join(", ")}: ${r.why}` };
  }
  return undefined;
}

/**
 * Why a pair cannot run a case: the case gives the client a flag its stack
 * refuses (ClientStack.refuses: a concept the library lacks), or the server
 * one its stack refuses (ServerStack.refuses).
 */
export function refusedBy(
  labCase: LabCase,
  client: ClientStack,
  options: Pick<PlanOptions, "settings">,
  server?: ServerStack,
): { why: string } | undefined {
  // The lab signals a client process in these: a page lives in its browser's processes, not the agent's.
  if (client.browser && (labCase.fault ?? []).some(onClient)) {
    return { why: "the case signals the client's process: a page lives in its browser's processes" };
  }
  if (client.channelOnly && !labCase.channel) return { why: client.channelOnly };
  const mine =
    labCase.view === "server" ? undefined : refusal(client.refuses, caseClientFlags(labCase, options.settings));
  return mine ?? refusal(server?.refuses, caseServerFlags(labCase, options.settings));
}

/**
 * The rule of a case for the user's own client (issue 28): where the rule is a hang (the lab gave
 * the call no remedy), its own deadline or keepalive may end it, and that is no departure.
 */
function ownRemedies(
  expect: LabCase["expect"],
  client: ClientStack,
  channel: boolean,
): { rule: string[]; cite: string } {
  if (client.program.kind !== "command" || !expect.rule.some((r) => r.split("+").includes("hang")))
    return { rule: expect.rule, cite: expect.cite };
  const codes = [...new Set([...expect.rule.flatMap((r) => r.split("+")), "deadline_exceeded", "unavailable"])];
  // On a channel the outcome is the codes of many calls (channelOutcome): any mix of them.
  const rule = channel
    ? Array.from({ length: 2 ** codes.length - 1 }, (_, m) =>
        channelOutcome(codes.filter((_, i) => ((m + 1) >> i) & 1)),
      )
    : codes;
  return {
    rule,
    cite: `${expect.cite}; your client's own deadline (deadline_exceeded) or keepalive (unavailable) may end it`,
  };
}

/** Every cell of the plan, in report order, with an empty result. */
export function planCells(options: PlanOptions): CellPlan[] {
  return options.cases.flatMap((labCase) =>
    pairsOf(labCase, options).map(({ server, client }) => {
      const where =
        labCase.view === "server"
          ? { server: server.id, client: "", protocol: "" }
          : { server: server.id, client: client.client, protocol: client.protocol };
      // A channel scenario a client stack cannot take part in (issue 17), or a case whose remedy it
      // has no way to set (a browser's keepalive, issue 19): its cell says why.
      // Over TLS, a stack whose secrets the tap cannot read proves no fault (issue 27).
      const noKeys = options.tls
        ? (server.noTlsKeyLog ?? (labCase.view === "server" ? undefined : client.noTlsKeyLog))
        : undefined;
      const notFor =
        labCase.channel?.notFor?.find(
          (n) => n.client === client.client && (n.server === undefined || n.server === server.id),
        ) ??
        (noKeys ? { why: `--tls: ${noKeys}` } : undefined) ??
        refusedBy(labCase, client, options, server);
      const profile = profileOf(labCase, options);
      const matchOf = { ...where, tls: options.tls !== undefined, release: client.release?.version };
      return {
        labCase,
        server,
        client,
        clientArgs: [
          ...profileArgs(profile, "client", client.client),
          ...clientTlsArgs(options.tls),
          ...(options.callArgs ?? []),
        ],
        profile: profile.name,
        result: {
          case: labCase.id,
          ...where,
          // A release of the matrix (--versions) is a client column of its own: "grpc-js@1.8.22".
          ...(client.release &&
            where.client && { client: releaseName(client.release), release: client.release.version }),
          expected: notFor
            ? { rule: [notApplicable], cite: notFor.why, evidence: [], allowed: [notApplicable], departures: [] }
            : {
                ...ownRemedies(labCase.expect, client, labCase.channel !== undefined),
                evidence: labCase.evidence.map((e) => e.says),
                allowed: allowedOutcomes(labCase.expect, matchOf),
                departures: matchingDepartures(labCase.expect, matchOf).map(({ codes, why }) => ({ codes, why })),
                // The catalogue states the project's releases' outcomes with the lab's settings (a knob
                // case: with its own).
                // A browser's (issue 19) are measured beside connect-node's, not stated; so are the
                // user's own server's and client's (issue 28): what they do is the finding.
                ...((client.release !== undefined ||
                  client.browser !== undefined ||
                  client.program.kind === "command" ||
                  server.program.kind === "command" ||
                  server.program.kind === "address" ||
                  (!labCase.knob && options.profile.name !== "lab")) && {
                  otherSettings: true,
                }),
              },
          runs: [],
        },
      };
    }),
  );
}

/** A channel scenario whose outcome is the codes of a stream of calls ("calls" steps), not of one call. */
export const watchesManyCalls = (labCase: LabCase): boolean =>
  labCase.channel?.steps.some((step) => step.do === "calls" && step.label === labCase.channel?.watch) ?? false;

/**
 * The scenes for `repeat` runs of every cell. Runs whose fault acts on the
 * server process share one fresh server per repeat when their server, its
 * flags and those steps are the same: one fault, many observers. The rest
 * run alone, on the long-lived servers. Under --isolate every run is a scene
 * of its own with fresh processes.
 */
export function planScenes(cells: readonly CellPlan[], options: PlanOptions): Scene[] {
  const scenes: Scene[] = [];
  const grouped = new Map<string, Scene>();
  // The server's view: the runs of cells with the same server and flags share one server, one
  // after another (each reads the handlers and heap before it), up to maxServerViewMs of runs: a
  // server's start costs ~0.2 s of CPU, and these were a third of --quick's server starts.
  const viewScenes = new Map<string, Scene>();
  for (const cell of cells.filter((c) => c.labCase.view === "server" && c.result.expected.rule[0] !== notApplicable)) {
    const serverArgs = serverArgsOf(cell.labCase, cell.server, options);
    const caller: Observer["caller"] = cell.labCase.driver === "agent" && !options.isolate ? "agent" : "process";
    const observers = Array.from({ length: options.repeat }, () => ({ cell, caller }));
    const key = JSON.stringify([cell.server.id, serverArgs]);
    let scene = options.isolate ? undefined : viewScenes.get(key);
    const ms = (o: Observer[]) => o.reduce((n, x) => n + estimateMs(x.cell.labCase, options.settings), 0);
    if (!scene || ms(scene.observers) + ms(observers) > maxServerViewMs) {
      scene = { server: cell.server, source: "server-view", serverArgs, serverSteps: [], observers: [] };
      viewScenes.set(key, scene);
      scenes.push(scene);
    }
    scene.observers.push(...observers);
  }
  // A channel's life (issue 17): observers of one skeleton (the same servers, flags and steps at
  // the same moments) go through it together, the runs of every repeat among them: a channel's run
  // is a timeline of many calls, mostly waiting. On fresh servers of their own when the steps act
  // on them (one fault, many observers: a server costs ~0.3 s of CPU to start), else on the
  // long-lived ones, each with relays of its own. A cell whose client cannot take part has no
  // scene: its runs say so (run-lab.ts).
  for (let repeat = 0; repeat < options.repeat; repeat++) {
    for (const cell of cells.filter((c) => c.labCase.channel && c.result.expected.rule[0] !== notApplicable)) {
      const { labCase, server } = cell;
      // A scenario that watches a stream of calls (15-40 of them) samples its races in one run:
      // it runs once, and the lab's time goes to the scenarios that watch one call.
      if (repeat > 0 && watchesManyCalls(labCase)) continue;
      const serverArgs = serverArgsOf(labCase, server, options);
      const channel = {
        fresh: onServers(labCase) || options.isolate,
        ...(options.isolate && { isolate: true }),
        backends: labCase.channel?.backends ?? 1,
      };
      const observer: Observer = { cell, caller: "agent" };
      const key = JSON.stringify(["channel", server.id, serverArgs, channelSkeleton(labCase, options.settings)]);
      let scene = grouped.get(key);
      if (!scene || scene.observers.length >= maxChannelObservers || options.isolate) {
        scene = { server, source: "channel", serverArgs, serverSteps: [], observers: [], channel };
        grouped.set(key, scene);
        scenes.push(scene);
      }
      scene.observers.push(observer);
    }
  }
  // Observers of one fault, gathered first and then split evenly: 33 runs in scenes of 17 and 16
  // (behind a proxy, three of 11, not 12 + 12 + 9): the fewer calls at once, the narrower their
  // message 1's spread.
  const faultGroups = new Map<string, Scene>();
  const mostOf = new Map<Scene, number>();
  const shared = sharedProcessesArgs(options.settings);
  for (let repeat = 0; repeat < options.repeat; repeat++) {
    for (const cell of cells.filter(
      (c) => c.labCase.view !== "server" && !c.labCase.channel && c.result.expected.rule[0] !== notApplicable,
    )) {
      const { labCase, server } = cell;
      const steps = serverSteps(labCase);
      const serverArgs = serverArgsOf(labCase, server, options);
      const caller =
        options.isolate ||
        (labCase.fault ?? []).some(onClient) ||
        labCase.ownProcess?.includes(cell.client.client) ||
        cell.client.program.kind === "command"
          ? "process"
          : "agent";
      const observer: Observer = { cell, caller };
      const together =
        caller === "process" && labCase.sharedByProcesses && refusal(server.refuses, shared) === undefined;
      if (labCase.noServer) {
        scenes.push({ server: undefined, source: "none", serverArgs: [], serverSteps: [], observers: [observer] });
      } else if (options.isolate) {
        scenes.push({ server, source: "fresh", serverArgs, serverSteps: steps, observers: [observer] });
      } else if (steps.length > 0 && caller === "process" && !together) {
        // A client process has message 1 only once it has loaded, which takes a varying ~0.2-0.5 s
        // on a busy machine: several could not be at message 1 together. Each watches its own server.
        scenes.push({ server, source: "fresh", serverArgs, serverSteps: steps, observers: [observer] });
      } else if (steps.length > 0) {
        // Client processes watch a server of their own: an agent's call has message 1 within
        // milliseconds, a process's only once it has loaded, and one fault must find every call of
        // its scene at message 1.
        // A browser's call has message 1 only once its page has loaded (~0.1-0.5 s, issue 19): each
        // browser's runs share a scene with its own only, a few at a time.
        const browser = cell.client.browser ?? "";
        const args = together ? [...serverArgs, ...shared] : serverArgs;
        // The repeats of a cell watch one fault together while the scene has room (issue 29: a
        // server start costs 0.3-2 s of CPU, a JVM's the most): each run is its own call still.
        const key = JSON.stringify([
          caller,
          browser,
          server.id,
          args,
          steps.map((s) => ({ ...s, afterMs: undefined })),
        ]);
        let scene = faultGroups.get(key);
        if (!scene) {
          scene = { server, source: "fresh", serverArgs: args, serverSteps: steps, observers: [] };
          faultGroups.set(key, scene);
          const most = browser ? maxBrowserObservers : labCase.proxy ? maxProxiedObservers : Number.POSITIVE_INFINITY;
          mostOf.set(scene, Math.min(most, maxObserversOf(server, options.settings)));
          scenes.push(scene);
        }
        scene.observers.push(observer);
      } else if (server.peerOnly && !options.tap) {
        scenes.push({ server, source: "fresh", serverArgs, serverSteps: [], observers: [observer] });
      } else if (server.peerOnly) {
        const fault = labCase.serverArgs?.(options.settings)[1];
        scenes.push({ server, source: "peer", serverArgs, fault, serverSteps: [], observers: [observer] });
      } else {
        scenes.push({ server, source: "shared", serverArgs, serverSteps: [], observers: [observer] });
      }
    }
  }
  return scenes.flatMap((scene) => {
    const most = mostOf.get(scene);
    if (most === undefined) return [scene];
    const parts = Math.ceil(scene.observers.length / most);
    const size = Math.ceil(scene.observers.length / parts);
    return Array.from({ length: parts }, (_, i) => ({
      ...scene,
      observers: scene.observers.slice(i * size, (i + 1) * size),
    }));
  });
}

/**
 * A rough length of one run, for ordering: hangs wait for the watchdog, full streams for every
 * message; a client whose keepalive keeps a floor (grpc-go, grpc-java: 10 s) waits for its own
 * keepalive, twice (scene.ts awaitResult).
 */
export function estimateMs(labCase: LabCase, s: LabSettings, client?: Pick<ClientStack, "keepaliveFloorMs">): number {
  const args = [...(labCase.clientArgs?.(s) ?? []), ...(labCase.channel?.channelArgs?.(s) ?? [])];
  if (client?.keepaliveFloorMs !== undefined && args.includes("--ping-interval-ms")) {
    const bound = keepaliveBoundMs(client, s);
    const floorWatchdog = floorWatchdogMs(bound);
    if (floorWatchdog > s.watchdogMs) {
      // A clamped keepalive ends its call only at the clamp (grpc-go, grpc-java: ~10 s): such a run
      // is among the longest, and started last it alone would keep the lab waiting at the end.
      const atClamp = labCase.expect.rule.includes("hang") ? 0 : s.intervalMs + bound;
      return Math.max(atClamp, estimateMs(labCase, { ...s, watchdogMs: floorWatchdog }));
    }
  }
  if (labCase.channel) {
    const c = s.channel;
    return labCase.channel.steps.reduce((ms, step) => {
      if (step.do === "pause") return ms + step.ms(s);
      if (step.do === "calls") return ms + step.forMs(s);
      if (step.do === "call" && step.wait) return ms + c.count * c.intervalMs;
      if (step.do === "settle") return ms + s.watchdogMs;
      return ms;
    }, 0);
  }
  if (labCase.expect.rule.includes("hang")) return s.intervalMs + s.watchdogMs;
  if (labCase.fault?.some((step) => step.kind === "restart"))
    return s.intervalMs + s.restartGapMs + s.intervalMs * s.count;
  if (!labCase.fault || labCase.expect.rule.includes("ok")) return s.intervalMs * s.count;
  return 2 * s.intervalMs;
}

/** The longest of a scene's runs (the server's view: all of them, one after another). */
export function sceneEstimateMs(scene: Scene, s: LabSettings): number {
  const runs = scene.observers.map((o) => estimateMs(o.cell.labCase, s, o.cell.client));
  return scene.source === "server-view" ? runs.reduce((a, b) => a + b, 0) : Math.max(...runs);
}
