import * as path from "node:path";
import { labCases } from "../catalogue/cases.ts";
import { judgeRun } from "./check-run.ts";
import { findFindings } from "./findings.ts";
import { comparisonTables, legend } from "./report-markdown.ts";
import type { LabResults } from "./results.ts";
import { summarizeCell } from "./summary.ts";

/** How many findings the terminal shows: a screen, the rest is in the report (issue 28). */
const findingsShown = 10;

/** A finding's sentence on one line of a terminal. */
const clip = (text: string, width = 180) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

/**
 * What a finished run says in the terminal: its findings first (a screen; every table stays in
 * report.md unless `tables`), one line of counts and where the report is, the notes on hangs and
 * profiles, and --check's verdict. Returns false when --check fails.
 */
export function printRun(
  results: LabResults,
  options: { out: string; tables: boolean; check: boolean; console: NodeJS.WritableStream },
): boolean {
  const { cells, meta } = results;
  const write = (text: string) => options.console.write(text);
  if (options.tables) {
    write(`${comparisonTables(cells, labCases)}\n\n${legend.map((l) => `  ${l.replace(/`/g, "")}`).join("\n")}\n\n`);
  } else {
    const findings = findFindings(cells, labCases, meta.versions).filter((f) => f.kind !== "lab-error");
    if (findings.length > 0) {
      write(`What the run found (${findings.length}; each with its cases and timelines in report.html):\n`);
      for (const f of findings.slice(0, findingsShown)) write(`  - ${clip(f.text)}\n`);
      if (findings.length > findingsShown) write(`  ... and ${findings.length - findingsShown} more in report.md\n`);
      write("(every table: report.md, or --tables here)\n\n");
    }
  }
  const departures = cells.filter((cell) => summarizeCell(cell).departs).length;
  const errors = cells.filter((cell) => cell.runs.some((run) => run.code === "lab-error")).length;
  const cpu = meta.cpu;
  const runs = cells.reduce((n, cell) => n + cell.runs.length, 0);
  const shards = meta.merged ? `, ${meta.merged.length} shards merged, the longest` : "";
  write(
    `${cells.length} cells, ${runs} runs in ${(meta.wallMs / 1000).toFixed(1)} s (${meta.mode}${shards}` +
      `${cpu ? `, ${Math.round((cpu.labMs + cpu.childrenMs) / Math.max(1, runs))} ms of CPU per run` : ""}); ` +
      `${departures} cell(s) depart from the gRPC rules${errors > 0 ? `, ${errors} cell(s) with lab errors` : ""}. ` +
      `Report: ${path.join(options.out, "report.html")} (and report.md, results.json)\n`,
  );
  const judgement = judgeRun(cells, String(meta.settings.profile ?? "lab"));
  for (const note of judgement.notes) write(`${note}\n`);
  if (!options.check) return true;
  if (judgement.failures.length > 0) {
    // A lab error says why it proves nothing: the reader of a red run needs that, not only the cell.
    process.stderr.write(
      `lab: --check: ${judgement.failures.length} cell(s) outside the stated outcomes:\n${judgement.failures.map((f) => `  ${f}`).join("\n")}\n` +
        (judgement.labErrors.length > 0 ? `lab errors:\n${judgement.labErrors.map((e) => `  ${e}`).join("\n")}\n` : ""),
    );
    return false;
  }
  write("lab: --check: every outcome is one of the stated ones\n");
  return true;
}
