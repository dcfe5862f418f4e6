/**
 * The liveness lab: every case against every server/client/protocol pair,
 * several times, faults injected at message 1 and proven on the wire, one
 * comparison table.
 *
 *   npm run lab                      # the full matrix (see README)
 *   npm run lab -- --quick --check   # ~5x faster timings, fail on surprises
 *   npm run lab -- --compare         # agents and --isolate, every cell that differs
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { type Flags, intFlag, parseFlags, runCli, stringFlag, UsageError } from "../lib/cli.ts";
import { browserExecutable, browserKinds, browserPackages } from "../peers/browser/browsers.ts";
import { installReleases } from "../scripts/install-releases.ts";
import {
  caseGroups,
  defaultScope,
  defaultSettings,
  firstQuestion,
  fullOnlyGroups,
  type LabCase,
  type LabSettings,
  labCases,
  quickSettings,
} from "./catalogue/cases.ts";
import { builtinProfiles, readProfile } from "./catalogue/profiles.ts";
import { proxyStacks, proxyVersions } from "./catalogue/proxies.ts";
import { node22Path, releaseName, releases } from "./catalogue/releases.ts";
import {
  browserStacks,
  clientStacks,
  coreStacks,
  releaseStacks,
  serverStacks,
  stackPairs,
} from "./catalogue/stacks.ts";
import { buildEntries, buildReleaseEntries } from "./engine/build.ts";
import {
  childCpu,
  cpuTimes,
  killAllChildrenNow,
  runningChildren,
  startedChildren,
  stopAllChildren,
} from "./engine/child-process.ts";
import { createLabTls } from "./engine/lab-tls.ts";
import { availableStacks } from "./engine/peer-builds.ts";
import { refusedBy } from "./engine/plan.ts";
import { runLab } from "./engine/run-lab.ts";
import { readShard } from "./engine/shards.ts";
import { differingCells } from "./reports/compare.ts";
import { diffRuns, diffText } from "./reports/diff-runs.ts";
import { mergeShards, readShardRuns } from "./reports/merge-runs.ts";
import { printRun } from "./reports/print-run.ts";
import { createProgress } from "./reports/progress.ts";
import type { LabResults } from "./reports/results.ts";
import { cellName } from "./reports/summary.ts";
import { libraryVersions } from "./reports/versions.ts";
import { writeReports } from "./reports/write-reports.ts";
import { planYours, yourServiceFlags } from "./your-service/your-run.ts";

/** Each case group in a word or two, for --help. */
const groupWords: Record<(typeof caseGroups)[number], string> = {
  process: "signals to the server",
  network: "blackhole, reset",
  handler: "a stalled handler",
  http2: "a misbehaving peer",
  health: "health Watch",
  server: "the server's view",
  proxy: "nginx, HAProxy",
  channel: "a channel's life",
  knob: "one option's values",
};

/** The Node the newest connect-node release runs on (releases/node22). */
const node22Version = () => execFileSync(node22Path, ["--version"], { encoding: "utf8" }).trim();

/**
 * Picks catalogue entries by a comma list of ids: "connect" also picks every
 * "connect/..." id, and a case group ("network") every case in it.
 */
function pick<T extends { id: string; group?: string }>(flags: Flags, name: string, all: readonly T[]): T[] {
  const raw = flags[name];
  if (typeof raw !== "string") return [...all];
  const wanted = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const matches = (item: T, w: string) => item.id === w || item.id.startsWith(`${w}/`) || item.group === w;
  const unknown = wanted.filter((w) => !all.some((item) => matches(item, w)));
  const groups = [...new Set(all.flatMap((item) => (item.group ? [item.group] : [])))];
  if (unknown.length > 0 || wanted.length === 0) {
    const names = [...all.map((i) => i.id), ...groups];
    const near = unknown.flatMap((u) => nearest(u, names));
    throw new UsageError(
      `--${name}: unknown ${unknown.map((u) => `"${u}"`).join(", ") || "(empty)"}; ${
        near.length > 0
          ? `did you mean ${near.join(", ")}?`
          : `choose from ${all.length > 20 ? "the groups" : all.map((i) => i.id).join(", ")}${groups.length > 0 ? ` ${groups.join(", ")}` : ""}`
      }${name === "cases" ? " (--list shows every case)" : ""}`,
    );
  }
  return all.filter((item) => wanted.some((w) => matches(item, w)));
}

/** The names closest to a mistyped one (edit distance, or one containing the other), three at most. */
function nearest(wrong: string, names: readonly string[]): string[] {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let diagonal = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
        diagonal = above;
      }
    }
    return row[b.length];
  };
  const scored = names
    .map((n) => ({ n, d: n.includes(wrong) || wrong.includes(n) ? 0 : distance(wrong, n) }))
    .filter(({ d }) => d <= Math.max(2, Math.floor(wrong.length / 3)))
    .sort((a, b) => a.d - b.d || a.n.length - b.n.length);
  return scored.slice(0, 3).map(({ n }) => n);
}

/** `--list`: the catalogue, a line per case (its group, what it does), the --cases choice only. */
function listCases(cases: readonly LabCase[]): string {
  const width = Math.max(...cases.map((c) => c.id.length));
  return cases.map((c) => `${c.id.padEnd(width)}  ${c.group.padEnd(7)}  ${c.summary}`).join("\n");
}

function readSettings(flags: Flags): LabSettings {
  const base = flags.quick ? quickSettings : defaultSettings;
  let keepalive = base.keepalive;
  if (typeof flags.keepalive === "string") {
    const m = /^(\d+)\/(\d+)$/.exec(flags.keepalive);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
      throw new UsageError(`--keepalive must be INTERVAL/TIMEOUT in ms, e.g. 500/500, got "${flags.keepalive}"`);
    }
    keepalive = { intervalMs: Number(m[1]), timeoutMs: Number(m[2]) };
  }
  const intervalMs = intFlag(flags, "interval-ms", { default: base.intervalMs, min: 1 });
  const deadlineMs = intFlag(flags, "deadline-ms", { default: base.deadlineMs, min: 1 });
  // A hang is only a hang if every remedy would have fired by then.
  const idleTimeoutMs = intFlag(flags, "idle-timeout-ms", { default: base.idleTimeoutMs, min: 1 });
  const slowestRemedy = Math.max(keepalive.intervalMs + keepalive.timeoutMs, deadlineMs, idleTimeoutMs);
  const watchdogMs = intFlag(flags, "watchdog-ms", { default: Math.max(base.watchdogMs, 2 * slowestRemedy), min: 1 });
  if (watchdogMs <= slowestRemedy) {
    throw new UsageError(
      `--watchdog-ms must exceed the slowest remedy's bound (${slowestRemedy} ms), got ${watchdogMs}`,
    );
  }
  if (idleTimeoutMs <= intervalMs) {
    throw new UsageError(`--idle-timeout-ms must exceed --interval-ms (${intervalMs}), or healthy streams time out`);
  }
  return { ...base, intervalMs, keepalive, deadlineMs, idleTimeoutMs, watchdogMs };
}

/** The groups --browsers runs by default (issue 19): a page's own calls, not a channel's or a server's view. */
const browserGroups = ["process", "network", "handler", "http2", "proxy"];

/** The groups --versions runs by default: a client's own calls and channels, where a release can change the outcome. */
const versionGroups = ["process", "network", "handler", "http2", "channel", "knob"];

/** The lab's CPU and its children's, for results.json (the bench reads where the time goes). */
function cpuUsage(): LabResults["meta"]["cpu"] {
  const times = cpuTimes();
  return times && { labMs: times.selfMs, childrenMs: times.childrenMs };
}

const ka = (s: LabSettings) => `${s.keepalive.intervalMs}/${s.keepalive.timeoutMs}`;

/**
 * `--diff A/results.json B/results.json` (issue 20): what changed between two runs, and nothing
 * else. Read before the flags: it takes two values, which parseArgs does not.
 */
function runDiff(argv: string[]): void {
  const at = argv.indexOf("--diff");
  const files = argv.slice(at + 1, at + 3);
  const rest = [...argv.slice(0, at), ...argv.slice(at + 3)];
  if (files.length < 2 || files.some((f) => f.startsWith("--")) || rest.length > 0) {
    throw new UsageError("--diff takes two results.json files and no other flag: --diff A/results.json B/results.json");
  }
  const [a, b] = files.map((file) => {
    try {
      const results = JSON.parse(readFileSync(file, "utf8")) as LabResults;
      if (!Array.isArray(results.cells) || !results.meta) throw new Error("not a lab results.json");
      return results;
    } catch (e) {
      throw new UsageError(`--diff: cannot read ${file}: ${(e as Error).message.split("\n")[0]}`);
    }
  });
  const d = diffRuns(a, b);
  process.stdout.write(`A: ${files[0]} (${a.meta.startedAt})\nB: ${files[1]} (${b.meta.startedAt})\n${diffText(d)}`);
  // As --compare: a difference no race explains fails the command.
  if (d.outcomes.some((o) => o.race === undefined)) process.exitCode = 1;
}

/**
 * `--merge DIR... --out DIR [--check] [--json]` (issue 29): one run out of every shard's folder.
 * Read before the flags: it takes several values, which parseArgs does not.
 */
async function runMerge(argv: string[]): Promise<void> {
  const at = argv.indexOf("--merge");
  let end = at + 1;
  while (end < argv.length && !argv[end].startsWith("--")) end++;
  const dirs = argv.slice(at + 1, end);
  const rest = [...argv.slice(0, at), ...argv.slice(end)];
  const flags = parseFlags({
    program: "lab",
    summary: "--merge DIR... --out DIR",
    argv: rest,
    flags: {
      out: { type: "string", help: "folder for the merged results.json, report.md, report.html" },
      check: { type: "boolean", help: "exit 1 when an outcome is outside the stated ones" },
      tables: { type: "boolean", help: "print every table" },
      json: { type: "boolean", help: "print results.json to stdout" },
    },
  });
  if (dirs.length === 0)
    throw new UsageError("--merge takes the folders of every shard's run: --merge A B C --out DIR");
  if (typeof flags.out !== "string") throw new UsageError("--merge needs --out DIR for the merged reports");
  const results = mergeShards(readShardRuns(dirs));
  await writeReports(flags.out, results);
  const console_ = flags.json ? process.stderr : process.stdout;
  const ok = printRun(results, {
    out: flags.out,
    tables: flags.tables === true,
    check: flags.check === true,
    console: console_,
  });
  if (flags.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  if (!ok) process.exitCode = 1;
}

/** The commit the lab runs from, "+dirty" with uncommitted changes; undefined outside git. */
function gitCommit(): string | undefined {
  try {
    const head = execFileSync("git", ["rev-parse", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return undefined;
  }
}

runCli("lab", async () => {
  if (process.argv.includes("--diff")) return runDiff(process.argv.slice(2));
  if (process.argv.includes("--merge")) return runMerge(process.argv.slice(2));
  const flags = parseFlags({
    program: "lab",
    summary: "run every liveness case against every client, server and protocol, and compare",
    flags: {
      cases: {
        type: "string",
        help: `comma list of cases or groups: ${caseGroups.map((g) => `${g} (${groupWords[g]})`).join(", ")}; --list shows every case`,
        default: "all",
      },
      list: { type: "boolean", help: "print the cases (of --cases, if given): id, group, what it does; runs nothing" },
      servers: {
        type: "string",
        help: `comma list of servers: ${serverStacks.map((s) => s.id).join(", ")}`,
        default: "all",
      },
      clients: {
        type: "string",
        help: `comma list of clients: ${clientStacks.map((c) => c.id).join(", ")}`,
        default: "all",
      },
      repeat: { type: "string", help: "runs per cell", default: "3 (quick: 1)" },
      jobs: { type: "string", help: "runs at once", default: "24 per core (--isolate: 3 per core)" },
      isolate: {
        type: "boolean",
        help: "fresh server and client processes for every run (the reference the agents are checked against)",
      },
      compare: {
        type: "boolean",
        help: "run the matrix with agents and with --isolate, and print every cell whose outcomes differ, with the race the catalogue names for it; exit 1 on a difference no race explains",
      },
      tls: {
        type: "boolean",
        help: "every server, proxy and client on HTTP/2 over TLS (ALPN h2) with a CA the lab makes (openssl); the tap reads the connections with the peers' TLS key log",
      },
      browsers: {
        type: "boolean",
        help: `connect-web in headless Chromium and Firefox ESR (Debian's, driven by puppeteer-core), each call a page of its own, beside connect-node's Connect and gRPC-Web clients, over TLS (implies --tls), against the Connect server and the fault peer: the groups ${browserGroups.join(", ")} unless --cases says`,
      },
      "no-tap": { type: "boolean", help: "no wire tap (and no evidence check): only to measure what the tap costs" },
      "sabotage-fault-peer": {
        type: "boolean",
        help: "for tests: the fault peer commits its faults wrongly, and the lab must report lab errors",
      },
      quick: {
        type: "boolean",
        help: "every timing about 5x shorter, one run per cell; the server group only when --cases names it, a server slow to start (a JVM: grpc-java) only when --servers names it",
      },
      "interval-ms": {
        type: "string",
        help: "pause between two server messages",
        default: `${defaultSettings.intervalMs} (quick: ${quickSettings.intervalMs})`,
      },
      keepalive: {
        type: "string",
        help: "client PING interval/timeout for +keepalive cases",
        default: `${ka(defaultSettings)} (quick: ${ka(quickSettings)})`,
      },
      "deadline-ms": {
        type: "string",
        help: "client deadline for +deadline cases",
        default: `${defaultSettings.deadlineMs} (quick: ${quickSettings.deadlineMs})`,
      },
      "idle-timeout-ms": {
        type: "string",
        help: "client idle timeout for +idle-timeout cases",
        default: `${defaultSettings.idleTimeoutMs} (quick: ${quickSettings.idleTimeoutMs})`,
      },
      "watchdog-ms": {
        type: "string",
        help: "after the fault, a client still waiting this long has hung",
        default: `${defaultSettings.watchdogMs} (quick: ${quickSettings.watchdogMs}), at least 2x the slowest remedy`,
      },
      profile: {
        type: "string",
        help: `the stacks' settings: a built-in (${Object.entries(builtinProfiles)
          .map(([name, p]) => `${name}: ${p.summary}`)
          .join(
            "; ",
          )}) or a JSON file of your own, one section per stack, each key the library's own option name (docs/profiles.md)`,
        default: "lab",
      },
      full: {
        type: "boolean",
        help: `every group for every server/client pair (issue 27): without it, the cases beyond the first question (${firstQuestion.join(", ")}) run for the core stacks only (${coreStacks.servers.join(", ")}) unless --servers or --clients names stacks, and the groups ${fullOnlyGroups.join(", ")} only when --cases names them`,
      },
      versions: {
        type: "boolean",
        help: `the release matrix: every client case (groups ${versionGroups.join(", ")}, unless --cases says) also on ${releases.map(releaseName).join(", ")} (installed into releases/ on first use; connect-node 2.3 on Node 22), and the report lists each case whose outcome changed between releases`,
      },
      out: { type: "string", help: "folder for results.json, report.md, report.html", default: "lab-report" },
      check: { type: "boolean", help: "exit 1 when an outcome is outside the stated ones" },
      tables: {
        type: "boolean",
        help: "print every table of the report here too (default: the run's findings, then where the report is)",
      },
      shard: {
        type: "string",
        help: "run shard K of N (K/N): a share of the cells balanced by their estimated run time, the same on every machine; --merge joins the shards' folders (docs/many-machines.md)",
        default: "1/1",
      },
      merge: {
        type: "string",
        help: "--merge DIR... --out DIR: one results.json, report.html and report.md from the folders of every shard of one run (same commit, settings, profile and versions); --check and --diff work on it; runs nothing",
      },
      json: { type: "boolean", help: "print results.json to stdout (progress and table go to stderr)" },
      ...yourServiceFlags,
      diff: {
        type: "string",
        help: "--diff A/results.json B/results.json: what changed between two runs (setup, outcomes with the races the catalogue names, timings that doubled or halved); runs nothing, exit 1 on a difference no race explains",
      },
    },
  });
  // Your own service (issue 28) picks its cases among those that apply to it (your-run.ts).
  const yourClient = typeof flags["client-cmd"] === "string" || typeof flags["client-channel-cmd"] === "string";
  const yours = typeof flags["server-cmd"] === "string" || typeof flags.target === "string" || yourClient;
  let cases = yours ? [...labCases] : pick(flags, "cases", labCases);
  if (flags.list) {
    process.stdout.write(`${listCases(cases)}\n`);
    return;
  }
  // --quick is the one-call matrix at a fifth of the timings (under 30 s on 2 cores). A channel's
  // life runs on the libraries' own clocks (a 1 s reconnect backoff, gRPC core's PINGs 1 s apart),
  // which do not shrink: the group would add ~20 s and saturate the cores (false keepalive
  // outcomes follow). It runs when named, and in the default run.
  // The knob group too: its settings are measured against the default run's keepalive (at a fifth
  // of it, a 100 ms PING timeout, a starved Python server's late ACK reads as a finding).
  if (flags.quick && typeof flags.cases !== "string") {
    cases = cases.filter((c) => c.channel === undefined && c.group !== "knob");
  }
  const quickNote = flags.quick && typeof flags.cases !== "string";
  // The default run asks the first question of every pair, and the rest of the catalogue of the
  // core stacks (issue 27: seven servers and eleven clients through every case is ~3x the runs).
  const scoped = !flags.full && !flags.browsers && flags.servers === undefined && flags.clients === undefined;
  if (scoped) cases = cases.map((c) => defaultScope(c, coreStacks));
  // Under 120 s on 2 cores (issue 27) the default leaves out the groups that cost most per finding:
  // a proxy doubles the processes, a channel's life runs on the libraries' own clocks, and the knob
  // group repeats cases per setting. Named with --cases, or with --full, they run.
  // --quick (under 30 s on 2 cores) leaves the server's view out too: its calls run one after
  // another, each on a server and a client process of its own (a fifth of --quick's CPU).
  const leftOut = scoped && !flags.versions && typeof flags.cases !== "string";
  const leftOutGroups = flags.quick ? [...fullOnlyGroups, "server"] : fullOnlyGroups;
  if (leftOut) cases = cases.filter((c) => !leftOutGroups.includes(c.group));
  if (flags.versions && typeof flags.cases !== "string") cases = cases.filter((c) => versionGroups.includes(c.group));
  let settings = readSettings(flags);
  // The cases a page can take: a browser sets no keepalive and is not a process the lab signals.
  if (flags.browsers && typeof flags.cases !== "string") {
    cases = cases.filter(
      (c) =>
        browserGroups.includes(c.group) &&
        c.view !== "server" &&
        browserStacks.some((b) => refusedBy(c, b, { settings }) === undefined),
    );
  }
  let servers =
    flags.browsers && typeof flags.servers !== "string"
      ? serverStacks.filter((s) => s.id === "connect" || s.peerOnly)
      : pick(flags, "servers", serverStacks);
  // --quick (under 30 s on 2 cores) leaves out the servers slow to start: each fault scene starts
  // one, and a JVM costs ~1 s of CPU (with its class-data archive), a quarter of --quick's CPU
  // for one server of seven. The default run and --servers have them.
  const quickSkips =
    flags.quick && typeof flags.servers !== "string" && !flags.browsers
      ? servers.filter((s) => (s.startMs ?? 0) > 0)
      : [];
  servers = servers.filter((s) => !quickSkips.includes(s));
  let clients = flags.browsers
    ? typeof flags.clients === "string"
      ? pick(flags, "clients", [...clientStacks, ...browserStacks])
      : [...clientStacks.filter((c) => c.client === "connect" && c.protocol !== "grpc"), ...browserStacks]
    : pick(flags, "clients", clientStacks);
  // A browser that is not installed: the lab runs the others and says which and why, in one line.
  for (const kind of browserKinds) {
    if (!clients.some((c) => c.browser === kind) || browserExecutable(kind)) continue;
    clients = clients.filter((c) => c.browser !== kind);
    process.stderr.write(
      `lab: --browsers: ${kind} skipped: not installed (Debian/Ubuntu, as root: apt-get install -y ${browserPackages[kind]})\n`,
    );
  }
  // The proxy group needs nginx and HAProxy; without one the lab runs the rest and says how to add it.
  const absent = proxyStacks.filter((p) => proxyVersions().get(p.id) === undefined);
  const skipped = absent.filter((p) => cases.some((c) => c.proxy?.id === p.id));
  if (skipped.length > 0) {
    cases = cases.filter((c) => !skipped.some((p) => p.id === c.proxy?.id));
    process.stderr.write(
      `lab: proxy group: ${skipped.map((p) => p.id).join(" and ")} skipped, not installed (Debian/Ubuntu, as root: apt-get install -y ${skipped.map((p) => p.command).join(" ")})\n`,
    );
  }
  if (cases.length === 0) throw new UsageError("--cases: every case chosen needs a proxy that is not installed");
  if (cases.every((c) => stackPairs(servers, clients, c.peer).length === 0)) {
    throw new UsageError(
      "--cases, --servers and --clients leave no cell to run (grpc-js serves gRPC only; the fault peer only its own cases)",
    );
  }
  const repeat = intFlag(flags, "repeat", { default: flags.quick ? 1 : 3, min: 1, max: 100 });
  if (flags.isolate && flags.compare) throw new UsageError("--isolate and --compare: choose one");
  const jobsFor = (isolate: boolean) =>
    // Runs mostly wait (for a keepalive, a deadline, a watchdog): 24 per core keep 2 cores ~70% busy
    // with the outcomes of 16 per core (issue 17: the channel group made the run wait-bound). A page
    // costs a browser far more than a call costs an agent: --browsers at 24 per core starved both
    // cores (servers took over 10 s to start, pages loaded past message 2), so 4 per core. TLS
    // costs every peer and the tap CPU (2 cores 81% busy on average over the --tls run, against
    // 60% for h2c; a grpc-js channel's handshake then took its whole 800 ms deadline): 16 per core.
    // The user's client command is a process per run, and its runtime's start is its own (a Python
    // client ~0.5 s of CPU): at 24 per core both cores were 98% busy and faults came late, so 2.
    intFlag(flags, "jobs", {
      default: (yourClient ? 2 : isolate ? 3 : flags.browsers ? 4 : flags.tls ? 16 : 24) * availableParallelism(),
      min: 1,
      max: 256,
    });
  const profile = readProfile(stringFlag(flags, "profile", "lab"), settings);
  const shard = typeof flags.shard === "string" ? readShard(flags.shard) : undefined;
  const outDir = stringFlag(flags, "out", "lab-report");
  const console_ = flags.json ? process.stderr : process.stdout;
  const tap = flags["no-tap"] !== true;
  // Made beside the reports: the key log lets tshark read the same connections (docs/tls.md).
  // Browsers speak HTTP/2 only over TLS: --browsers is a --tls run.
  let tls = flags.tls || flags.browsers ? createLabTls(path.join(outDir, "tls")) : undefined;

  // Ctrl-C or SIGTERM mid-run: no new runs, every process we started ends (stopped ones included).
  const interrupt = new AbortController();
  process.on("exit", killAllChildrenNow);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupt.signal.aborted) process.exit(130);
      interrupt.abort();
      process.stderr.write(`\nlab: ${signal}: ending ${runningChildren()} process(es)\n`);
      void stopAllChildren({ final: true }).then(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }

  // The user's own service (issue 28): its server and the cases that apply, instead of the matrix.
  let callArgs: string[] = [];
  if (yours) {
    await buildEntries();
    const chosen =
      (name: string) =>
      <T extends { id: string; group?: string }>(all: readonly T[]) =>
        typeof flags[name] === "string" ? pick(flags, name, all) : [...all];
    const mine = await planYours(flags, settings, outDir, tls, {
      cases: chosen("cases"),
      clients: chosen("clients"),
      servers: chosen("servers"),
    });
    for (const note of mine.notes) process.stderr.write(`lab: ${note}\n`);
    ({ servers, clients, cases, callArgs, settings, tls } = mine);
  } else {
    // Once every flag was read: a usage error is one line.
    if (scoped && cases.some((c) => !firstQuestion.includes(c.id)))
      process.stderr.write(
        `lab: every pair answers the first question (${firstQuestion.join(", ")}); the other cases run for ${coreStacks.servers.join(", ")} only: --full runs them for every stack, --servers/--clients for the stacks named\n`,
      );
    if (leftOut)
      process.stderr.write(
        `lab: ${flags.quick ? "--quick" : "the default run"} leaves the groups ${leftOutGroups.join(", ")} out: --cases ${leftOutGroups.join(",")} runs them, --full runs every group for every pair\n`,
      );
    if (quickSkips.length > 0)
      process.stderr.write(
        `lab: --quick leaves the ${quickSkips.map((s) => s.id).join(", ")} server out (slow to start: a process per fault scene); --servers ${quickSkips.map((s) => s.id).join(",")} or the default run has it\n`,
      );
    if (quickNote && !leftOut)
      process.stderr.write(
        "lab: --quick leaves the channel and knob groups out (add --cases channel,knob, or run without --quick)\n",
      );
  }
  await buildEntries();
  if (flags.versions) {
    installReleases((line) => process.stderr.write(`lab: ${line}\n`));
    await buildReleaseEntries(releases);
    clients = [...clients, ...releaseStacks(clients)];
  }
  // The stacks in other languages (issue 27): built once per machine; a missing toolchain or a
  // failed build leaves its stacks out, said in one line.
  const say = (line: string) => process.stderr.write(`lab: ${line}\n`);
  servers = await availableStacks(servers, say);
  clients = await availableStacks(clients, say);

  /** One run of the whole plan in one mode, its reports written to `dir`. */
  const runOnce = async (isolate: boolean, dir: string): Promise<LabResults | undefined> => {
    const jobs = jobsFor(isolate);
    const startedAt = new Date();
    const start = performance.now();
    const cpuBefore = cpuUsage();
    const processesBefore = startedChildren();
    // The lab runs every relay and injects every fault: its own lateness bounds the figures' precision.
    const delay = monitorEventLoopDelay({ resolution: 20 });
    delay.enable();
    const progress = createProgress({ stream: console_ });
    const outcome = await runLab(
      {
        cases,
        servers,
        clients,
        repeat,
        jobs,
        settings,
        isolate,
        tap,
        tls,
        sabotagePeer: flags["sabotage-fault-peer"] === true,
        profile,
        shard,
        callArgs,
      },
      {
        signal: interrupt.signal,
        onRun: (p, cell) => {
          const run = cell.runs[cell.runs.length - 1];
          const time = run.detectMs !== null ? ` ${run.detectMs} ms` : "";
          progress.update(
            p.runs,
            p.totalRuns,
            `cells ${p.cells}/${p.totalCells}  ${cell.case} ${cellName(cell)}: ${run.code}${time}`,
            p.workDone,
          );
        },
      },
    );
    progress.end();
    delay.disable();
    if (interrupt.signal.aborted) return undefined;
    const cpuAfter = cpuUsage();
    const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - 5) * 100) / 100);
    const results: LabResults = {
      meta: {
        startedAt: startedAt.toISOString(),
        node: process.version,
        versions: {
          ...libraryVersions({ browsers: flags.browsers === true }),
          ...(flags.versions && {
            "release matrix": `${releases.map(releaseName).join(", ")} (connect-node 2.3.0 on Node ${node22Version()})`,
          }),
        },
        settings: { ...settings, repeat, jobs, quick: flags.quick === true, profile: profile.name },
        profile: profile.sections,
        mode: isolate ? "isolate" : "agents",
        tap,
        ...(tls && { tls: true }),
        wallMs: Math.round(performance.now() - start),
        cpu: cpuAfter && {
          labMs: cpuAfter.labMs - (cpuBefore?.labMs ?? 0),
          childrenMs: cpuAfter.childrenMs - (cpuBefore?.childrenMs ?? 0),
        },
        childCpu: childCpu(),
        processes: startedChildren() - processesBefore,
        commit: gitCommit(),
        selection: {
          cases: cases.map((c) => c.id),
          servers: servers.map((x) => x.id),
          clients: clients.map((c) => c.id),
          full: flags.full === true,
        },
        ...(shard && { shard }),
        agents: outcome.agents,
        labEventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      },
      cells: outcome.cells,
    };
    await writeReports(dir, results);
    return results;
  };

  const results = await runOnce(flags.isolate === true, outDir);
  if (!results) return;
  const { cells } = results;
  let failed = !printRun(results, {
    out: outDir,
    tables: flags.tables === true,
    check: flags.check === true,
    console: console_,
  });
  if (flags.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  if (flags.compare) {
    const isolated = await runOnce(true, path.join(outDir, "isolate"));
    if (!isolated) return;
    const differ = differingCells(cells, isolated.cells, ["agents", "isolate"]);
    const speed = isolated.meta.wallMs / results.meta.wallMs;
    // A cell whose two sides' codes all lie within one race the catalogue names differs by chance,
    // in either mode; any other difference is the engine's to explain, and fails the command.
    const unexplained = differ.filter((d) => d.race === undefined);
    const show = (d: (typeof differ)[number]) =>
      `  ${d.line}${d.race ? `\n    a race the catalogue names: ${d.race}` : "\n    unexplained"}`;
    console_.write(
      `--isolate: ${(isolated.meta.wallMs / 1000).toFixed(1)} s (agents ${speed.toFixed(1)}x faster); ` +
        `${differ.length} cell(s) differ, ${unexplained.length} unexplained${differ.length > 0 ? `:\n${differ.map(show).join("\n")}` : ""}\n`,
    );
    if (unexplained.length > 0) failed = true;
  }
  if (failed) process.exitCode = 1;
  // Everything the lab opened is closed by now, and the process ends by itself. A handle still
  // open is a leak of ours, and it must not keep a finished lab alive (a relay left listening once
  // held one for an hour in CI): say so, and end.
  setTimeout(() => {
    // What keeps the loop alive (timers included), the lab's own stdio aside.
    const open = process.getActiveResourcesInfo().filter((what) => what !== "TTYWrap" && what !== "PipeWrap");
    process.stderr.write(
      `lab: internal error: ${open.length} handle(s) still open after the run (a leak: ${open.join(", ")}); exiting\n`,
    );
    process.exit(process.exitCode ?? 0);
  }, 3000).unref();
});
