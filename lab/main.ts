/**
 * The liveness lab: every case against every server/client/protocol pair,
 * several times, faults injected at message 1, one comparison table.
 *
 *   npm run lab                      # the full matrix (see README)
 *   npm run lab -- --quick --check   # ~10x faster timings, fail on surprises
 */
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { type Flags, intFlag, parseFlags, runCli, stringFlag, UsageError } from "../lib/cli.ts";
import { caseGroups, defaultSettings, type LabSettings, labCases, quickSettings } from "./catalogue/cases.ts";
import { clientStacks, serverStacks, stackPairs } from "./catalogue/stacks.ts";
import { buildEntries } from "./engine/build.ts";
import {
  cpuTimes,
  killAllChildrenNow,
  runningChildren,
  startedChildren,
  stopAllChildren,
} from "./engine/child-process.ts";
import { runLab } from "./engine/run-lab.ts";
import { createProgress } from "./reports/progress.ts";
import { htmlReport } from "./reports/report-html.ts";
import { comparisonTables, legend, markdownReport } from "./reports/report-markdown.ts";
import type { LabResults } from "./reports/results.ts";
import { checkFailures, summarizeCell } from "./reports/summary.ts";
import { libraryVersions } from "./reports/versions.ts";

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
    throw new UsageError(
      `--${name}: unknown ${unknown.map((u) => `"${u}"`).join(", ") || "(empty)"}; choose from ${all.map((i) => i.id).join(", ")}${groups.length > 0 ? `, or a group: ${groups.join(", ")}` : ""}`,
    );
  }
  return all.filter((item) => wanted.some((w) => matches(item, w)));
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

/** The lab's CPU and its children's, for results.json (the bench reads where the time goes). */
function cpuUsage(): LabResults["meta"]["cpu"] {
  const times = cpuTimes();
  return times && { labMs: times.selfMs, childrenMs: times.childrenMs };
}

const ka = (s: LabSettings) => `${s.keepalive.intervalMs}/${s.keepalive.timeoutMs}`;

runCli("lab", async () => {
  const flags = parseFlags({
    program: "lab",
    summary: "run every liveness case against every client, server and protocol, and compare",
    flags: {
      cases: {
        type: "string",
        help: `comma list of cases or groups (${caseGroups.join(", ")}): ${labCases.map((c) => c.id).join(", ")}`,
        default: "all",
      },
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
      jobs: { type: "string", help: "runs at once", default: "3 per core" },
      quick: { type: "boolean", help: "every timing about 5x shorter, one run per cell" },
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
      out: { type: "string", help: "folder for results.json, report.md, report.html", default: "lab-report" },
      check: { type: "boolean", help: "exit 1 when an outcome is outside the stated ones" },
      json: { type: "boolean", help: "print results.json to stdout (progress and table go to stderr)" },
    },
  });
  const cases = pick(flags, "cases", labCases);
  const servers = pick(flags, "servers", serverStacks);
  const clients = pick(flags, "clients", clientStacks);
  if (cases.every((c) => stackPairs(servers, clients, c.peer).length === 0)) {
    throw new UsageError(
      "--cases, --servers and --clients leave no cell to run (grpc-js serves gRPC only; the fault peer only its own cases)",
    );
  }
  const repeat = intFlag(flags, "repeat", { default: flags.quick ? 1 : 3, min: 1, max: 100 });
  const jobs = intFlag(flags, "jobs", { default: 3 * availableParallelism(), min: 1, max: 64 });
  const settings = readSettings(flags);
  const outDir = stringFlag(flags, "out", "lab-report");
  const console_ = flags.json ? process.stderr : process.stdout;

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

  await buildEntries();
  const startedAt = new Date();
  const start = performance.now();
  const progress = createProgress({ stream: console_ });
  let cellsDone = 0;
  const cells = await runLab(
    { cases, servers, clients, repeat, jobs, settings },
    {
      signal: interrupt.signal,
      onRun: (done, total, cell) => {
        const run = cell.runs[cell.runs.length - 1];
        const time = run.detectMs !== null ? ` ${run.detectMs} ms` : "";
        if (cell.runs.length === repeat) cellsDone++;
        progress.update(
          done,
          total,
          `cells ${cellsDone}/${total / repeat}  ${cell.case} ${cell.server}<-${cell.client}/${cell.protocol}: ${run.code}${time}`,
        );
      },
    },
  );
  progress.end();
  if (interrupt.signal.aborted) return;

  const results: LabResults = {
    meta: {
      startedAt: startedAt.toISOString(),
      node: process.version,
      versions: libraryVersions(),
      settings: { ...settings, repeat, jobs, quick: flags.quick === true },
      wallMs: Math.round(performance.now() - start),
      cpu: cpuUsage(),
      processes: startedChildren(),
    },
    cells,
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(path.join(outDir, "report.md"), markdownReport(results, labCases));
  await writeFile(path.join(outDir, "report.html"), htmlReport(results, labCases));

  console_.write(
    `${comparisonTables(cells, labCases)}\n\n${legend.map((l) => `  ${l.replace(/`/g, "")}`).join("\n")}\n\n`,
  );
  const departures = cells.filter((cell) => summarizeCell(cell).departs).length;
  console_.write(
    `${cells.length} cells x ${repeat} runs in ${(results.meta.wallMs / 1000).toFixed(1)} s; ` +
      `${departures} cell(s) depart from the gRPC rules. Report: ${path.join(outDir, "report.html")} (and report.md, results.json)\n`,
  );
  if (flags.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  if (flags.check) {
    const failures = checkFailures(cells);
    if (failures.length > 0) {
      process.stderr.write(
        `lab: --check: ${failures.length} cell(s) outside the stated outcomes:\n${failures.map((f) => `  ${f}`).join("\n")}\n`,
      );
      process.exitCode = 1;
    } else {
      console_.write("lab: --check: every outcome is one of the stated ones\n");
    }
  }
});
