import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { labCases } from "../catalogue/cases.ts";
import { htmlReport } from "./report-html.ts";
import { markdownReport } from "./report-markdown.ts";
import type { CellResult, LabResults } from "./results.ts";
import { cellName } from "./summary.ts";

/**
 * results.json: the meta, then a line per cell, compact (issue 20). Written a cell at a time, so that
 * no string holds the whole run: the default run's 2312 runs take 14 MB this way (38 MB indented),
 * and a run ten times as big stays far below V8's largest string (~512 MB), which one
 * JSON.stringify of it would pass. Still one JSON document: JSON.parse reads it whole.
 */
export async function writeResultsJson(file: string, results: LabResults): Promise<void> {
  const out = createWriteStream(file);
  // events.once rejects on "error" and leaves no listener behind.
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  await write(`{"meta":${JSON.stringify(results.meta)},\n"cells":[\n`);
  for (const [i, cell] of results.cells.entries()) {
    await write(`${JSON.stringify(cell)}${i < results.cells.length - 1 ? "," : ""}\n`);
  }
  await write("]}\n");
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** Writes results.json, report.md and report.html into `dir` (made if missing). */
export async function writeReports(dir: string, results: LabResults): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeResultsJson(path.join(dir, "results.json"), results);
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
