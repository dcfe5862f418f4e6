import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { type LabSettings, labCases } from "../lab/catalogue/cases.ts";
import { clientStacks, releaseStacks } from "../lab/catalogue/stacks.ts";
import { projectRoot } from "../lab/engine/build.ts";
import { estimateMs } from "../lab/engine/plan.ts";
import type { LabResults } from "../lab/reports/results.ts";

export interface LabCostRow {
  /** The command's lab flags. */
  args: string[];
  runs: number;
  cells: number;
  /** The lab's own figure: from its first run to its last, ms. */
  wallMs: number;
  /** The whole command as a user waits for it (tsx start, bundling, reports), ms. */
  commandMs: number;
  /** CPU of the lab's children (servers, clients) and of the lab itself, ms. */
  childrenCpuMs: number | null;
  labCpuMs: number | null;
  processes: number;
  /** --check passed. */
  checked: boolean;
  /** Where the children's CPU went, by stack and role. */
  accounts: AccountCost[];
  /** The plan's estimated run time, the runs one after another (lab/engine/plan.ts estimateMs), ms. */
  estimatedMs: number;
}

/**
 * Runs the lab as a user does (`node --import tsx lab/main.ts ...`, with
 * --check) and reads its wall time and CPU off its results.json.
 */
export async function measureLab(args: string[], keepResultsAs?: string): Promise<LabCostRow> {
  const out = mkdtempSync(path.join(tmpdir(), "bench-lab-"));
  try {
    const start = performance.now();
    const lab = spawn(
      process.execPath,
      ["--import", "tsx", path.join(projectRoot, "lab", "main.ts"), ...args, "--check", "--out", out],
      { cwd: projectRoot, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    lab.stderr?.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    const status = await new Promise<number | null>((resolve) => lab.on("close", resolve));
    const commandMs = Math.round(performance.now() - start);
    const results = JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")) as LabResults;
    if (keepResultsAs) copyFileSync(path.join(out, "results.json"), keepResultsAs);
    if (status !== 0 && status !== 1)
      throw new Error(`lab ${args.join(" ")} failed: ${stderr.trim().split("\n").pop()}`);
    return {
      args,
      runs: results.cells.reduce((sum, cell) => sum + cell.runs.length, 0),
      cells: results.cells.length,
      wallMs: results.meta.wallMs,
      commandMs,
      childrenCpuMs: results.meta.cpu?.childrenMs ?? null,
      labCpuMs: results.meta.cpu?.labMs ?? null,
      processes: results.meta.processes,
      checked: status === 0,
      accounts: accountCosts(results),
      estimatedMs: estimatedLoadMs(results),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** One account of a run's CPU (lab/engine/child-process.ts childCpu) and the runs it served. */
export interface AccountCost {
  account: string;
  cpuMs: number;
  processes: number;
  /** The runs of the cells its stack took part in (every run, for a proxy or the fault peer). */
  runs: number;
}

/**
 * Where a run's children's CPU went, by account ("grpc-java server", "grpcio/grpc agent"), each
 * with the runs its stack took part in: a server's, the runs against it; a client's, its own.
 */
export function accountCosts(results: LabResults): AccountCost[] {
  const all = results.cells.reduce((n, c) => n + c.runs.length, 0);
  return Object.entries(results.meta.childCpu ?? {}).map(([account, { ms, processes }]) => {
    const [stack, role] = account.split(" ");
    const runs =
      role === "server"
        ? results.cells.filter((c) => c.server === stack).reduce((n, c) => n + c.runs.length, 0)
        : role === "agent" || role === "process"
          ? results.cells.filter((c) => `${c.client}/${c.protocol}` === stack).reduce((n, c) => n + c.runs.length, 0)
          : all;
    return { account, cpuMs: ms, processes, runs };
  });
}

/**
 * The full matrix's time on 1, 4 and 16 machines like this one (issue 29): each shard's estimated
 * load (lab/engine/shards.ts), scaled by what a real run took per estimated second.
 */
export function fullMatrixTimes(
  calibration: { wallMs: number; estimatedMs: number },
  loads: (count: number) => number[],
): { machines: number; wallS: number }[] {
  const ratio = calibration.wallMs / calibration.estimatedMs;
  return [1, 4, 16].map((machines) => ({
    machines,
    wallS: Math.round((Math.max(...loads(machines)) * ratio) / 1000),
  }));
}

/** A run's plan's estimated load: each of its runs' estimate (plan.ts), one after another, ms. */
export function estimatedLoadMs(results: LabResults): number {
  const stacks = [...clientStacks, ...releaseStacks()];
  return results.cells.reduce((ms, cell) => {
    const labCase = labCases.find((c) => c.id === cell.case);
    const client = stacks.find((c) => c.id === `${cell.client}/${cell.protocol}`);
    const ran = cell.runs.filter((r) => r.code !== "n/a").length;
    return labCase ? ms + ran * estimateMs(labCase, results.meta.settings as unknown as LabSettings, client) : ms;
  }, 0);
}
