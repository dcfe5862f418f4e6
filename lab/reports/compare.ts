import type { CellResult } from "./results.ts";
import { cellName } from "./summary.ts";

/** The codes a cell's runs ended with, as a set: what two modes must agree on. */
const outcomes = (cell: CellResult) => [...new Set(cell.runs.map((run) => run.code))].sort();

/**
 * Every cell whose outcomes differ between two runs of the same matrix
 * (agents against --isolate, issue 11), named "case server<-client/protocol:
 * a | b". Cells missing from either side are listed too.
 */
export function differingCells(a: readonly CellResult[], b: readonly CellResult[], names: [string, string]): string[] {
  const key = (cell: CellResult) => `${cell.case} ${cellName(cell)}`;
  const other = new Map(b.map((cell) => [key(cell), cell]));
  const lines: string[] = [];
  for (const cell of a) {
    const twin = other.get(key(cell));
    other.delete(key(cell));
    const left = outcomes(cell).join(", ");
    const right = twin ? outcomes(twin).join(", ") : "(not run)";
    if (left !== right) lines.push(`${key(cell)}: ${names[0]} ${left} | ${names[1]} ${right}`);
  }
  for (const cell of other.values())
    lines.push(`${key(cell)}: ${names[0]} (not run) | ${names[1]} ${outcomes(cell).join(", ")}`);
  return lines;
}
