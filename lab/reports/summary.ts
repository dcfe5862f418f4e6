import type { CellResult } from "./results.ts";

/** What the reports and --check read off one cell's runs. */
export interface CellSummary {
  /** "canceled", or "internal x2, canceled x1" when runs disagree (most frequent first). */
  outcome: string;
  /** The most frequent code. */
  main: string;
  /** Runs did not all end the same way. */
  racy: boolean;
  /** Some run ended outside what the gRPC rules call for. */
  departs: boolean;
  /** Some run ended outside the stated outcomes (rule or known departure): --check fails. */
  unexpected: boolean;
  /** Median detection time over the runs that did not hang, ms. */
  detectMs: number | null;
  /** Smallest and largest detection time, ms. */
  detectRange: [number, number] | null;
}

export function summarizeCell(cell: CellResult): CellSummary {
  const counts = new Map<string, number>();
  for (const run of cell.runs) counts.set(run.code, (counts.get(run.code) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  const outcome = ranked.length === 1 ? ranked[0][0] : ranked.map(([code, n]) => `${code} x${n}`).join(", ");
  const times = cell.runs.flatMap((run) => (run.detectMs === null ? [] : [run.detectMs])).sort((a, b) => a - b);
  return {
    outcome,
    main: ranked[0]?.[0] ?? "none",
    racy: ranked.length > 1,
    departs: ranked.some(([code]) => !cell.expected.rule.includes(code)),
    unexpected: !cell.expected.otherSettings && ranked.some(([code]) => !cell.expected.allowed.includes(code)),
    detectMs: times.length > 0 ? median(times) : null,
    detectRange: times.length > 0 ? [times[0], times[times.length - 1]] : null,
  };
}

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

/** The set of outcomes a cell showed, for comparing stacks: order-free. */
function outcomeKey(cell: CellResult): string {
  return [...new Set(cell.runs.map((run) => run.code))].sort().join("|");
}

/**
 * Cells of one case whose outcomes differ from the outcome most stacks
 * share: where the stacks disagree. Empty when they all agree; every cell
 * when no outcome has a majority of its own.
 */
export function disagreeingCells(cells: readonly CellResult[]): Set<CellResult> {
  const counts = new Map<string, number>();
  for (const cell of cells) counts.set(outcomeKey(cell), (counts.get(outcomeKey(cell)) ?? 0) + 1);
  if (counts.size <= 1) return new Set();
  const [first, second] = [...counts].sort((a, b) => b[1] - a[1]);
  if (first[1] === second[1]) return new Set(cells);
  return new Set(cells.filter((cell) => outcomeKey(cell) !== first[0]));
}

/** The cells --check rejects, named "case server<-client/protocol: outcome (allowed: ...)". */
export function checkFailures(cells: readonly CellResult[]): string[] {
  return cells
    .filter((cell) => summarizeCell(cell).unexpected)
    .map(
      (cell) =>
        `${cell.case} ${cellName(cell)}: ${summarizeCell(cell).outcome} (allowed: ${cell.expected.allowed.join(", ")})`,
    );
}

/** "connect<-grpc-js/grpc": server, then client and protocol; the server's view: the server alone. */
export function cellName(cell: Pick<CellResult, "server" | "client" | "protocol">): string {
  return cell.client ? `${cell.server}<-${cell.client}/${cell.protocol}` : cell.server;
}

/** The medians of some cells as a range, "342–752 ms" ("" when none ended): for findings and tables. */
export function medianRange(cells: readonly CellResult[]): string {
  const ms = cells.flatMap((c) => summarizeCell(c).detectMs ?? []).sort((a, b) => a - b);
  if (ms.length === 0) return "";
  return ms[0] === ms[ms.length - 1] ? `${ms[0]} ms` : `${ms[0]}–${ms[ms.length - 1]} ms`;
}
