import { labCases } from "../catalogue/cases.ts";
import type { CellResult } from "./results.ts";
import { cellName, checkFailures, summarizeCell } from "./summary.ts";
import { labErrorLines } from "./write-reports.ts";

/** What a run's outcomes say against the catalogue: lines for the reader, failures for --check. */
export interface RunJudgement {
  /** Lines about hangs no setting ends, and what a profile changed. */
  notes: string[];
  /** One line per cell outside the stated outcomes (--check fails on any). */
  failures: string[];
  /** Every lab error's reason, for a red run's reader (tries that were run again left out). */
  labErrors: string[];
}

/**
 * Judges a run's cells as --check does (issue 18): the catalogue states each case's outcomes for
 * the `lab` profile (a knob case: its own); under another profile they are what it changes, not
 * failures; a lab error fails all the same, and `recommended` must end every case that a setting
 * can end. The same for a run and for a merge of shards (issue 29).
 */
export function judgeRun(cells: readonly CellResult[], profileName: string): RunJudgement {
  const stated = (cell: CellResult) => !cell.expected.otherSettings;
  const hung = cells.filter((cell) => cell.runs.some((run) => run.code === "hang"));
  /** Why no setting ends this cell's case, where the catalogue says so. */
  const noSetting = (cell: CellResult) => {
    const known = labCases.find((c) => c.id === cell.case)?.noSetting;
    return known?.find(
      (n) =>
        (n.server === undefined || n.server === cell.server) && (n.client === undefined || n.client === cell.client),
    )?.why;
  };
  const notes: string[] = [];
  for (const cell of hung) {
    const why = profileName !== "lab" && noSetting(cell);
    if (why) notes.push(`lab: ${cell.case} ${cellName(cell)} hangs, and no setting ends it: ${why}`);
  }
  if (profileName !== "lab") {
    const changed = cells.filter(
      (cell) => !stated(cell) && cell.runs.some((run) => !cell.expected.allowed.includes(run.code)),
    );
    notes.push(
      `lab: profile ${profileName}: ${hung.length} cell(s) with a hang; ${changed.length} cell(s) outside the outcomes stated for the lab profile (what this profile changes: report.md)`,
    );
  }
  const failures = [
    ...checkFailures(cells.filter(stated)),
    ...cells
      .filter((cell) => !stated(cell) && cell.runs.some((run) => run.code === "lab-error"))
      .map((cell) => `${cell.case} ${cellName(cell)}: ${summarizeCell(cell).outcome}`),
    ...(profileName === "recommended"
      ? hung
          .filter((cell) => noSetting(cell) === undefined)
          .filter((cell) => !stated(cell))
          .map(
            (cell) =>
              `${cell.case} ${cellName(cell)}: ${summarizeCell(cell).outcome} (recommended must end every case)`,
          )
      : []),
  ];
  return { notes, failures, labErrors: labErrorLines(cells).filter((line) => !line.includes("(tried again)")) };
}
