/**
 * The benchmark: detection latency of each remedy against its bound, what
 * the lab costs, server throughput and memory, Connect against grpc-js.
 *
 *   npm run bench                   # ~5 min on 2 cores; figures in bench/RESULTS.md
 *   npm run bench -- --quick        # ~1.5 min: the same report, smaller samples
 *   npm run bench -- --full-lab     # also the full default lab, and issue 11's matrix with and without agents
 *
 * Prints one table per section and writes bench-report/results.json.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import * as path from "node:path";
import { caseGroups, defaultSettings, quickSettings } from "../lab/catalogue/cases.ts";
import { clientStacks } from "../lab/catalogue/stacks.ts";
import { buildEntries } from "../lab/engine/build.ts";
import { killAllChildrenNow, stopAllChildren } from "../lab/engine/child-process.ts";
import { fullMatrixPlan, shardLoads } from "../lab/engine/shards.ts";
import type { LabResults } from "../lab/reports/results.ts";
import { libraryVersions } from "../lab/reports/versions.ts";
import { parseFlags, runCli, stringFlag, UsageError } from "../lib/cli.ts";
import { detectionCases, measureDetection } from "./detection.ts";
import { measureIdlePings } from "./idle-pings.ts";
import { estimatedLoadMs, fullMatrixTimes, type LabCostRow, measureLab } from "./lab-cost.ts";
import { measureMemory } from "./memory.ts";
import { chromiumPath, measureReportLoad } from "./report-load.ts";
import { measureSlowReaders } from "./slow-readers.ts";
import { measureStartup } from "./startup.ts";
import { showSummary, textTable } from "./stats.ts";
import { measureThroughput } from "./throughput.ts";

const sections = [
  "detection",
  "startup",
  "lab",
  "report",
  "throughput",
  "memory",
  "slow-readers",
  "idle-pings",
] as const;
type Section = (typeof sections)[number];

runCli("bench", async () => {
  const flags = parseFlags({
    program: "bench",
    summary: "detection latency, lab cost, server throughput and memory, Connect against grpc-js",
    flags: {
      quick: {
        type: "boolean",
        help: "smaller samples and shorter windows: a look at the shape in ~1.5 min (88 s on 2 cores)",
      },
      "full-lab": {
        type: "boolean",
        help: "also time the full default lab run, issue 11's matrix (the Node stacks, five groups) with agents and under --isolate, and the tap's cost on it (adds ~5 min)",
      },
      sections: { type: "string", help: `comma list: ${sections.join(", ")}`, default: "all" },
      "by-group": {
        type: "boolean",
        help: "the lab section measures the default run and each group alone (--cases GROUP) only: CPU per run by stack and by group (~5 min)",
      },
      "full-results": {
        type: "string",
        help: "the results.json of a real `npm run lab -- --full` run: the lab section's full-matrix times on 1, 4 and 16 machines are scaled by its wall time",
        default: "the default run's (with --full-lab), else the first row's",
      },
      out: { type: "string", help: "folder for results.json", default: "bench-report" },
      results: {
        type: "string",
        help: "the lab results.json whose report.html the report section opens in Chromium",
        default: "the lab section's largest run (the full default run with --full-lab), else lab-report/results.json",
      },
    },
  });
  const quick = flags.quick === true;
  const wanted = (stringFlag(flags, "sections", sections.join(",")).split(",") as Section[]).filter(Boolean);
  const unknown = wanted.filter((s) => !sections.includes(s));
  if (unknown.length > 0)
    throw new UsageError(`--sections: unknown ${unknown.join(", ")}; choose from ${sections.join(", ")}`);
  const outDir = stringFlag(flags, "out", "bench-report");

  process.on("exit", killAllChildrenNow);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => void stopAllChildren({ final: true }).then(() => process.exit(130)));
  }

  const say = (text: string) => process.stdout.write(`${text}\n`);
  const startedAt = new Date();
  const start = performance.now();
  await buildEntries();
  const results: Record<string, unknown> = {};
  /** Wall time per section, s: where the bench's own minutes go. */
  const sectionSeconds: Record<string, number> = {};
  let sectionStart = performance.now();
  const sectionDone = (name: Section) => {
    sectionSeconds[name] = Math.round((performance.now() - sectionStart) / 100) / 10;
    sectionStart = performance.now();
    say(`  (${name}: ${sectionSeconds[name]} s)`);
  };
  const jobs = 3 * availableParallelism();
  /** Where the lab section keeps its largest run's results.json for the report section. */
  const keptResults = path.join(tmpdir(), `bench-lab-results-${process.pid}.json`);
  process.on("exit", () => rmSync(keptResults, { force: true }));

  if (wanted.includes("detection")) {
    const settings = quick ? quickSettings : defaultSettings;
    const repeat = quick ? 2 : 5;
    const options = {
      settings,
      repeat,
      // --quick: the core stacks' gRPC clients (grpc-go's and grpc-java's keepalive waits 10 s).
      clients: quick
        ? clientStacks.filter((c) => c.protocol === "grpc" && ["connect", "grpc-js", "grpcio"].includes(c.client))
        : clientStacks,
      cases: quick ? ["suspend+keepalive", "suspend+deadline", "stall+idle-timeout"] : detectionCases,
    };
    // The same cells through the agents and through --isolate, one after the other: calls that
    // share an agent must not delay each other's timers (issue 11).
    const agents = await measureDetection({ ...options, jobs: 16 * availableParallelism() });
    const isolated = await measureDetection({ ...options, jobs, isolate: true });
    results.detection = { settings, repeat, agents, isolated };
    say(
      `\nDetection latency: ${repeat} runs per cell and mode (lab timings: keepalive ${settings.keepalive.intervalMs}/` +
        `${settings.keepalive.timeoutMs} ms, deadline ${settings.deadlineMs} ms, idle timeout ${settings.idleTimeoutMs} ms). ` +
        "Target: ratio <= 1.10, agents within a few ms of --isolate.\n",
    );
    say(
      textTable(
        ["case", "client", "bound ms", "agents: ms, median (min–max)", "ratio", "--isolate: ms", "ratio", "ended"],
        agents.map((r, i) => {
          const twin = isolated[i];
          return [
            r.case,
            r.client,
            Number.isNaN(r.boundMs) ? "–" : String(r.boundMs),
            showSummary(r.detectMs),
            showSummary(r.ratio, 2),
            showSummary(twin.detectMs),
            showSummary(twin.ratio, 2),
            `${r.ended}/${r.runs}, ${twin.ended}/${twin.runs}`,
          ];
        }),
      ),
    );
    sectionDone("detection");
  }

  if (wanted.includes("startup")) {
    const samples = quick ? 5 : 20;
    const rows = await measureStartup(samples);
    results.startup = { samples, rows };
    say(`\nProcess start, spawn to ready, ${samples} samples each, kinds interleaved. Target: < 150 ms.\n`);
    say(
      textTable(
        ["program", "ready when", "ms, median (min–max)"],
        rows.map((r) => [r.program, r.ready, showSummary(r.ms)]),
      ),
    );
    sectionDone("startup");
  }

  if (wanted.includes("lab")) {
    // --quick (the suite runs it): the two Node stacks only, whose --isolate row starts two
    // processes a run (a Python one would cost each run ~0.3 s of CPU more): the rows' shape.
    const core = ["--servers", "connect,grpc-js,fault-peer", "--clients", "connect,grpc-js"];
    const base = quick ? ["--quick", "--cases", "normal,crash,suspend,rst-stream:8", ...core] : ["--quick"];
    // What the tap costs, on the cases that run alike without it: without the tap each run on the
    // fault peer needs a peer of its own (lab/engine/plan.ts), which would weigh on the comparison.
    const tapCases = quick ? ["--cases", "normal,crash,suspend"] : ["--cases", "process,network,handler,health"];
    const variants = [
      base,
      [...base, "--isolate"],
      [...base.slice(0, 1), ...tapCases, ...(quick ? core : [])],
      [...base.slice(0, 1), ...tapCases, ...(quick ? core : []), "--no-tap"],
      // --quick leaves the channel group out (its clocks are the libraries'): what it costs alone.
      ...(quick ? [] : [["--quick", "--cases", "channel"]]),
      // Issue 19's dimension, behind its flag: TLS on the same cases as the first row (--quick
      // leaves it out: the suite runs the bench's smoke test, and its time is counted).
      ...(quick ? [] : [[...base, "--tls"]]),
    ];
    // Issue 11's targets are set on the matrix it was filed against (the two Node stacks, five
    // groups): that matrix both ways. The whole default run (grpcio, the server's view and the
    // proxies since) is timed with agents only: under --isolate it would take a quarter of an hour.
    const issue11Matrix = [
      "--cases",
      "process,network,handler,http2,health",
      "--servers",
      "connect,grpc-js,fault-peer",
      "--clients",
      "connect,grpc-js",
    ];
    if (flags["full-lab"]) {
      variants.push(
        [],
        issue11Matrix,
        [...issue11Matrix, "--isolate"],
        ["--quick", ...issue11Matrix],
        tapCases,
        [...tapCases, "--no-tap"],
        // The default matrix over TLS, and the browser stacks (issue 19): too long for the default run.
        ["--tls"],
        ["--browsers"],
        // Issue 29: the default run's CPU per run, group by group.
        ...caseGroups.map((group) => ["--cases", group]),
      );
    }
    // Issue 29: only the default run and each group alone, for CPU per run by stack and by group.
    if (flags["by-group"]) variants.splice(0, variants.length, [], ...caseGroups.map((group) => ["--cases", group]));
    const rows: LabCostRow[] = [];
    // The largest run's results feed the report section: the default run's with --full-lab.
    for (const args of variants) {
      const keep = args.length === 0 || (args === base && !flags["full-lab"]) ? keptResults : undefined;
      rows.push(await measureLab(args, keep));
    }
    results.lab = { rows };
    const cores = availableParallelism();
    say(
      "\nLab cost (npm run lab -- ARGS --check), measured one after the other. Targets: issue 11's matrix under 35 s",
    );
    say(
      "and at least 4x faster than --isolate, its --quick under 8 s; the whole default run under 120 s, --quick under 30 s.\n",
    );
    say(
      textTable(
        [
          "lab args",
          "runs",
          "processes",
          "wall s (command s)",
          "x faster than --isolate",
          "children CPU s",
          "lab CPU s",
          "CPU per run ms",
          "CPU floor s",
        ],
        rows.map((r) => {
          const cpu = (r.childrenCpuMs ?? 0) + (r.labCpuMs ?? 0);
          // The same plan under --isolate, measured in this run.
          const plain = r.args.filter((a) => a !== "--isolate" && a !== "--no-tap").join(" ");
          const isolated = rows.find(
            (o) => o.args.includes("--isolate") && o.args.filter((a) => a !== "--isolate").join(" ") === plain,
          );
          return [
            r.args.join(" ") || "(default: full)",
            String(r.runs),
            String(r.processes),
            `${(r.wallMs / 1000).toFixed(1)} (${(r.commandMs / 1000).toFixed(1)})`,
            isolated && !r.args.includes("--isolate") ? (isolated.wallMs / r.wallMs).toFixed(1) : "–",
            r.childrenCpuMs === null ? "–" : (r.childrenCpuMs / 1000).toFixed(1),
            r.labCpuMs === null ? "–" : (r.labCpuMs / 1000).toFixed(1),
            String(Math.round(cpu / r.runs)),
            (cpu / 1000 / cores).toFixed(1),
          ];
        }),
      ),
    );
    say(`  CPU floor: all CPU spent / ${cores} cores: the wall time if every core were busy all along.`);
    // Issue 29: where the CPU goes, by stack (the default run's, or the first row's), and by group.
    const main = rows.find((r) => r.args.length === 0) ?? rows[0];
    say(
      `\nChildren's CPU by stack and role, in the run of "${main.args.join(" ") || "(default)"}" (${main.runs} runs):\n`,
    );
    say(
      textTable(
        ["account", "processes", "CPU s", "runs it served", "CPU per run ms"],
        main.accounts.map((a) => [
          a.account,
          String(a.processes),
          (a.cpuMs / 1000).toFixed(1),
          String(a.runs),
          a.runs > 0 ? (a.cpuMs / a.runs).toFixed(1) : "–",
        ]),
      ),
    );
    const groupRows = rows.filter(
      (r) => r.args.length === 2 && r.args[0] === "--cases" && caseGroups.includes(r.args[1] as never),
    );
    if (groupRows.length > 0) {
      say("\nCPU per run by group (each group alone, as the default run takes it):\n");
      say(
        textTable(
          ["group", "runs", "wall s", "CPU per run ms"],
          groupRows.map((r) => [
            r.args[1],
            String(r.runs),
            (r.wallMs / 1000).toFixed(1),
            String(Math.round(((r.childrenCpuMs ?? 0) + (r.labCpuMs ?? 0)) / r.runs)),
          ]),
        ),
      );
    }
    // The whole answer (issue 29): the full matrix's shards' estimated loads, scaled by a real run.
    const fullPlan = fullMatrixPlan();
    const given = typeof flags["full-results"] === "string" ? flags["full-results"] : undefined;
    const full = given ? (JSON.parse(readFileSync(given, "utf8")) as LabResults) : undefined;
    const calibration = full
      ? { wallMs: full.meta.wallMs, estimatedMs: estimatedLoadMs(full), from: `the --full run in ${given}` }
      : {
          wallMs: main.wallMs,
          estimatedMs: main.estimatedMs,
          from: `the run of "${main.args.join(" ") || "(default)"}"`,
        };
    const times = fullMatrixTimes(calibration, (n) => shardLoads(fullPlan, n, defaultSettings, 3));
    results.fullMatrix = { calibration, times, cells: fullPlan.length };
    say(
      `\nThe full matrix (--full: ${fullPlan.length} cells), estimated on machines like this one, scaled by ${calibration.from} (${(calibration.wallMs / 1000).toFixed(0)} s for ${(calibration.estimatedMs / 1000).toFixed(0)} s of estimated runs):`,
    );
    say(
      textTable(
        ["machines", "wall"],
        times.map((t) => [String(t.machines), `${Math.floor(t.wallS / 60)} min ${t.wallS % 60} s`]),
      ),
    );
    say(
      "  --no-tap: no relay and no evidence check for the cases that do not need the relay: what the wire tap costs.",
    );
    sectionDone("lab");
  }

  // Named, the report section needs Chromium; as part of every section, it is skipped without it.
  const named = typeof flags.sections === "string";
  if (wanted.includes("report") && !named && !existsSync(chromiumPath)) {
    say(`\nreport.html in Chromium: skipped, no Chromium at ${chromiumPath} (scripts/install-debian.sh installs it)`);
  } else if (wanted.includes("report")) {
    const given = typeof flags.results === "string" ? flags.results : undefined;
    const file = given ?? (existsSync(keptResults) ? keptResults : "lab-report/results.json");
    const row = await measureReportLoad(file, quick ? 2 : 5);
    results.report = row;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    say(`\nreport.html in Chromium (${chromiumPath}, headless), ${row.runs} runs; target: usable in under 2 s.\n`);
    say(
      textTable(
        [
          "results.json",
          "report.html",
          "DOMContentLoaded ms",
          "load ms",
          `open ${row.biggestCase}'s timelines ms`,
          "errors",
        ],
        [
          [
            `${(row.resultsBytes / 2 ** 20).toFixed(1)} MiB`,
            `${(row.htmlBytes / 2 ** 20).toFixed(1)} MiB`,
            `${median(row.domContentLoadedMs)} (${Math.min(...row.domContentLoadedMs)}–${Math.max(...row.domContentLoadedMs)})`,
            `${median(row.loadMs)} (${Math.min(...row.loadMs)}–${Math.max(...row.loadMs)})`,
            `${median(row.openBiggestMs)} (${Math.min(...row.openBiggestMs)}–${Math.max(...row.openBiggestMs)})`,
            String(row.errors.length),
          ],
        ],
      ),
    );
    sectionDone("report");
  }

  if (wanted.includes("idle-pings")) {
    const idleMs = quick ? 1000 : 6000;
    const rows = await measureIdlePings(["lab", "recommended"], idleMs);
    results.idlePings = { idleMs, rows };
    say(
      `\nWhat keepalive costs an idle connection (issue 18): one call, then ${idleMs} ms idle, PINGs counted on the wire (not ACKs), against the Connect server, per profile (docs/profiles.md).\n`,
    );
    say(
      textTable(
        ["profile", "client", "client PINGs / min", "server PINGs / min"],
        rows.map((r) => [r.profile, r.client, String(r.clientPingsPerMin), String(r.serverPingsPerMin)]),
      ),
    );
    sectionDone("idle-pings");
  }

  if (wanted.includes("throughput")) {
    const options = quick
      ? // --quick shows the shape: 1 and 16 streams, not 256, whose start alone takes seconds.
        { concurrencies: [1, 16], rounds: 2, windowMs: 250, warmupMs: 150, settleMs: 100 }
      : // Warm-up counts from the moment every stream flows, so a short one is enough.
        { concurrencies: [1, 16, 256], rounds: 5, windowMs: 2000, warmupMs: 100, settleMs: 100 };
    const rows = await measureThroughput(options);
    results.throughput = { ...options, serverFlags: "--interval-ms 0 --count 1000000000 --quiet", rows };
    say(
      `\nServer throughput, messages/s received, ${options.rounds} windows of ${options.windowMs} ms per server, ` +
        "servers alternating, counted once every stream flows (--quiet: no log line per message). Target: ratio >= 1.0.\n",
    );
    say(
      textTable(
        [
          "client",
          "streams",
          "Connect server",
          "grpc-js server",
          "ratio Connect/grpc-js",
          "all flowing after ms (C / g)",
        ],
        rows.map((r) => [
          r.client,
          String(r.streams),
          showSummary(r.connectServer),
          showSummary(r.grpcJsServer),
          showSummary(r.ratio, 2),
          `${showSummary(r.connectOpenMs)} / ${showSummary(r.grpcJsOpenMs)}`,
        ]),
      ),
    );
    say("  Windows start once every stream has its first message; the last column is how long that took.");
    sectionDone("throughput");
  }

  if (wanted.includes("memory")) {
    const streams = quick ? 200 : 1000;
    const rounds = quick ? 1 : 5;
    const rows = await measureMemory(streams, rounds);
    results.memory = { streams, rounds, rows };
    say(`\nMemory with ${streams} open streams (after a full GC), ${rounds} fresh servers each, alternating.\n`);
    say(
      textTable(
        ["server", "heap bytes per stream", "RSS bytes per stream", "heap MiB", "RSS MiB"],
        rows.map((r) => [
          r.server,
          showSummary(r.heapPerStream),
          showSummary(r.rssPerStream),
          showSummary(r.heapMiB, 1),
          showSummary(r.rssMiB, 1),
        ]),
      ),
    );
    sectionDone("memory");
  }

  if (wanted.includes("slow-readers")) {
    const streams = quick ? 200 : 2000;
    // Past the moment the held memory is read (the probe's start, a second, the normal calls).
    const stallTimeoutMs = quick ? 3000 : 8000;
    const rows = await measureSlowReaders(streams, stallTimeoutMs);
    results.slowReaders = { streams, stallTimeoutMs, replyBytes: 100_000, rows };
    say(
      `\nSlow readers: ${streams} Chat streams whose clients never open their window (requests and replies of 100 kB,` +
        ` 100 streams per connection), write-stall timeout ${stallTimeoutMs} ms; heap after a full GC; 10 normal calls` +
        " during the attack, each on a connection of its own.\n",
    );
    say(
      textTable(
        [
          "server",
          "bounds per connection",
          "streams admitted",
          "heap MiB before / held / after",
          "RSS MiB before / held / after",
          "normal calls: ms to message 1",
          "reset for stalling",
          "handlers after",
        ],
        rows.map((r) => [
          r.server,
          r.bounds === "default"
            ? `${r.maxStreams} streams, ${Math.round(r.maxUnsentBytes / 1024)} KiB unsent`
            : "off (2^31-1 streams and bytes)",
          `${r.admitted}/${r.streams}`,
          `${r.heapMiB.before} / ${r.heapMiB.held} / ${r.heapMiB.after}`,
          `${r.rssMiB.before} / ${r.rssMiB.held} / ${r.rssMiB.after}`,
          `${showSummary(r.normalFirstMessageMs, 1)}${r.normalFailed > 0 ? `, ${r.normalFailed} failed` : ""}`,
          `${r.stalled}/${r.admitted}`,
          String(r.handlersAfter),
        ]),
      ),
    );
    say(
      "  held: each admitted stream holds its request and its state; a connection's replies stay within its budget and one message more (the rest refused: REFUSED_STREAM); after: the stall timeout gave it all back.",
    );
    sectionDone("slow-readers");
  }

  const report = {
    meta: {
      startedAt: startedAt.toISOString(),
      command: `npm run bench --${quick ? " --quick" : ""}${flags["full-lab"] ? " --full-lab" : ""}`,
      quick,
      machine: {
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? "unknown",
        memoryGiB: Math.round(totalmem() / 2 ** 30),
      },
      node: process.version,
      versions: libraryVersions(),
      wallMs: Math.round(performance.now() - start),
      sectionSeconds,
    },
    ...results,
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, "results.json"), `${JSON.stringify(report, null, 2)}\n`);
  say(`\nbench: ${(report.meta.wallMs / 1000).toFixed(1)} s; ${path.join(outDir, "results.json")}`);
  await stopAllChildren({ final: true });
  process.exit(0);
});
