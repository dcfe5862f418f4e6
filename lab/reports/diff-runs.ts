import { differingCells } from "./compare.ts";
import type { CellResult, LabResults } from "./results.ts";
import { cellName, summarizeCell } from "./summary.ts";

/** What changed between two runs (issue 20): their setup, the cells whose outcomes differ, the timings that moved. */
export interface RunDiff {
  /** "versions: @grpc/grpc-js 1.10.0 -> 1.14.7", "settings: keepalive {...} -> {...}", mode, tap. */
  setup: string[];
  /** Cells whose codes differ, each with the race the catalogue names for it, if any (as --compare). */
  outcomes: { line: string; race?: string }[];
  /** Cells with the same codes whose median time at least doubled or halved, by 100 ms or more. */
  timings: string[];
}

export function diffRuns(a: LabResults, b: LabResults): RunDiff {
  const setup: string[] = [];
  const changed = (what: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) !== JSON.stringify(y))
      setup.push(`${what}: ${JSON.stringify(x) ?? "none"} -> ${JSON.stringify(y) ?? "none"}`);
  };
  changed("node", a.meta.node, b.meta.node);
  for (const name of new Set([...Object.keys(a.meta.versions), ...Object.keys(b.meta.versions)]))
    changed(`version of ${name}`, a.meta.versions[name], b.meta.versions[name]);
  for (const key of new Set([...Object.keys(a.meta.settings), ...Object.keys(b.meta.settings)]))
    changed(`setting ${key}`, a.meta.settings[key], b.meta.settings[key]);
  changed("mode", a.meta.mode, b.meta.mode);
  changed("wire tap", a.meta.tap, b.meta.tap);
  changed("TLS", a.meta.tls ?? false, b.meta.tls ?? false);

  const outcomes = differingCells(a.cells, b.cells, ["A", "B"]);
  const key = (cell: CellResult) => `${cell.case} ${cellName(cell)}`;
  const other = new Map(b.cells.map((cell) => [key(cell), cell]));
  const timings = a.cells.flatMap((cell) => {
    const twin = other.get(key(cell));
    if (!twin) return [];
    const [x, y] = [summarizeCell(cell), summarizeCell(twin)];
    if (x.outcome !== y.outcome || x.detectMs === null || y.detectMs === null) return [];
    const [lo, hi] = [Math.min(x.detectMs, y.detectMs), Math.max(x.detectMs, y.detectMs)];
    if (hi - lo < 100 || hi < 2 * lo) return [];
    return [`${key(cell)}: ${x.outcome} A ${x.detectMs} ms | B ${y.detectMs} ms`];
  });
  return { setup, outcomes, timings };
}

/** The diff as text, for the terminal. */
export function diffText(d: RunDiff): string {
  const lines: string[] = [];
  lines.push(
    d.setup.length > 0
      ? `What differs in the setup:\n${d.setup.map((s) => `  ${s}`).join("\n")}`
      : "The same setup (Node, versions, settings, mode, tap).",
  );
  const unexplained = d.outcomes.filter((o) => o.race === undefined).length;
  lines.push(
    `${d.outcomes.length} cell(s) ended differently, ${unexplained} with no race the catalogue names${d.outcomes.length > 0 ? ":" : "."}`,
    ...d.outcomes.map((o) => `  ${o.line}${o.race ? `\n    a race the catalogue names: ${o.race}` : ""}`),
  );
  lines.push(
    `${d.timings.length} cell(s) with the same codes whose median time doubled or halved (by 100 ms or more)${d.timings.length > 0 ? ":" : "."}`,
    ...d.timings.map((t) => `  ${t}`),
  );
  return `${lines.join("\n")}\n`;
}
