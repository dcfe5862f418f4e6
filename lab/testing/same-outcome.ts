import type { CellResult } from "../reports/results.ts";

/**
 * Whether two runs of the same cell (two modes, with and without the tap)
 * ended alike: the same codes, or codes that one known departure of the cell
 * names together (a race the catalogue explains, like a crash read as
 * canceled after a FIN and aborted after an RST).
 */
export function sameOutcome(a: CellResult, b: CellResult): boolean {
  const codes = (cell: CellResult) => new Set(cell.runs.map((run) => run.code));
  const [x, y] = [codes(a), codes(b)];
  if (x.size === y.size && [...x].every((code) => y.has(code))) return true;
  const all = new Set([...x, ...y]);
  return a.expected.departures.some((d) => [...all].every((code) => d.codes.includes(code)));
}
