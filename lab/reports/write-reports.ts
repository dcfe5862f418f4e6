import { mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { labCases } from "../catalogue/cases.ts";
import { htmlReport } from "./report-html.ts";
import { markdownReport } from "./report-markdown.ts";
import type { CellResult, LabResults } from "./results.ts";
import { cellName } from "./summary.ts";

/** Writes results.json, report.md and report.html into `dir` (made if missing). */
export async function writeReports(dir: string, results: LabResults): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(path.join(dir, "report.md"), markdownReport(results, labCases));
  await writeFile(path.join(dir, "report.html"), htmlReport(results, labCases));
}

/**
 * Every lab error of a run, one line each: "case server<-client/protocol:
 * why", with the lab errors of earlier tries that were run again (issue 22:
 * a test that fails on a lab error says why).
 */
export function labErrorLines(cells: readonly CellResult[]): string[] {
  return cells.flatMap((cell) =>
    cell.runs.flatMap((run) => [
      ...(run.code === "lab-error" ? [`${cell.case} ${cellName(cell)}: ${run.message}`] : []),
      ...(run.retried ?? []).map((why) => `${cell.case} ${cellName(cell)} (tried again): ${why}`),
    ]),
  );
}
