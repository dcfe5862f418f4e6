import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { projectRoot } from "../lab/engine/build.ts";
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
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
