import type { CellResult } from "./results.ts";
import { cellName } from "./summary.ts";

/** The codes a cell's runs ended with, as a set: what two modes must agree on. */
const outcomes = (cell: CellResult) => [...new Set(cell.runs.map((run) => run.code))].sort();

/**
 * Why two runs of a cell may end with different codes, when the catalogue
 * says: the rule itself allows each of them (a client's deadline heard by the
 * server as its own timer or as the client's reset), or one known departure
 * of the cell names them all (a crash read as canceled after a FIN and
 * aborted after an RST). Undefined when nothing names them together.
 */
export function namedRace(a: CellResult, b: CellResult): { why: string } | undefined {
  const all = [...new Set([...outcomes(a), ...outcomes(b)])];
  if (all.length < 2) return undefined;
  if (all.every((code) => a.expected.rule.includes(code))) return { why: `the rule allows each: ${a.expected.cite}` };
  return a.expected.departures.find((d) => all.every((code) => d.codes.includes(code)));
}

/**
 * Whether two runs of the same cell (two modes, with and without the tap)
 * ended alike: the same codes, or codes that one known race of the cell
 * names together.
 */
export function sameOutcome(a: CellResult, b: CellResult): boolean {
  return outcomes(a).join() === outcomes(b).join() || namedRace(a, b) !== undefined;
}

/** One cell whose outcomes differ between two runs of the same matrix. */
export interface CellDifference {
  /** "case server<-client/protocol: a-mode codes | b-mode codes". */
  line: string;
  /** The catalogue's reason when both sides' codes lie within one known race of the cell. */
  race?: string;
}

/**
 * Every cell whose outcomes differ between two runs of the same matrix
 * (agents against --isolate, issue 11). Cells missing from either side are
 * listed too, never as a race.
 */
export function differingCells(
  a: readonly CellResult[],
  b: readonly CellResult[],
  names: [string, string],
): CellDifference[] {
  const key = (cell: CellResult) => `${cell.case} ${cellName(cell)}`;
  const other = new Map(b.map((cell) => [key(cell), cell]));
  const found: CellDifference[] = [];
  for (const cell of a) {
    const twin = other.get(key(cell));
    other.delete(key(cell));
    const left = outcomes(cell).join(", ");
    const right = twin ? outcomes(twin).join(", ") : "(not run)";
    if (left === right) continue;
    found.push({
      line: `${key(cell)}: ${names[0]} ${left} | ${names[1]} ${right}`,
      race: twin && namedRace(cell, twin)?.why,
    });
  }
  for (const cell of other.values())
    found.push({ line: `${key(cell)}: ${names[0]} (not run) | ${names[1]} ${outcomes(cell).join(", ")}` });
  return found;
}
