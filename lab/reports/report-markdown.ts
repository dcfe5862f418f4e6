import { type CaseGroup, caseGroups, type LabCase } from "../catalogue/cases.ts";
import { findFindings, findingsMarkdown } from "./findings.ts";
import type { CellResult, LabResults } from "./results.ts";
import { type CellSummary, cellName, disagreeingCells, summarizeCell } from "./summary.ts";

/** How the tables name their columns. */
export const columnNaming =
  "Columns are server<-client/protocol: the server stack (connect = the Connect server on connect-node, grpc-js, grpcio, or the fault peer), then the client stack (connect = connect-node's client, grpc-js, grpcio) and the wire protocol it spoke. Groups with several servers have a table per server; `≠` compares a row across all of them.";

export const legend = [
  "`*` departs from what the gRPC rules call for (the reason is given below when it is known)",
  "`!` outside the outcomes stated for this stack: `--check` fails on it",
  "`~` racy: runs of the same cell ended differently",
  "`≠` disagrees with the other stacks in the same row",
];

/** The text in one table cell: outcome, detection time, markers. */
export function cellText(cell: CellResult, summary: CellSummary, disagrees: boolean): string {
  const time =
    summary.detectMs === null
      ? ""
      : summary.detectRange && summary.detectRange[0] !== summary.detectRange[1] && cell.runs.length > 1
        ? ` ${summary.detectMs} ms (${summary.detectRange[0]}–${summary.detectRange[1]})`
        : ` ${summary.detectMs} ms`;
  const marks = [summary.departs && "*", summary.unexpected && "!", summary.racy && "~", disagrees && "≠"]
    .filter(Boolean)
    .join("");
  return `${summary.outcome}${time}${marks ? ` ${marks}` : ""}`;
}

/** Columns in order of first appearance: one per server/client/protocol. */
export function columns(cells: readonly CellResult[]): string[] {
  return [...new Set(cells.map(cellName))];
}

/** Rows in catalogue order: one per case. */
export function rows(cells: readonly CellResult[]): Map<string, CellResult[]> {
  const byCase = new Map<string, CellResult[]>();
  for (const cell of cells) byCase.set(cell.case, [...(byCase.get(cell.case) ?? []), cell]);
  return byCase;
}

/**
 * The comparison table: rows are cases, columns are server<-client/protocol.
 * `context`: the cells a row is compared across for `≠` (default: the table's own).
 */
export function comparisonTable(cells: readonly CellResult[], context: readonly CellResult[] = cells): string {
  const cols = columns(cells);
  const lines = [`| case | ${cols.join(" | ")} |`, `|---|${cols.map(() => "---").join("|")}|`];
  const contextRows = rows(context);
  for (const [id, rowCells] of rows(cells)) {
    const disagree = disagreeingCells(contextRows.get(id) ?? rowCells);
    const byCol = new Map(rowCells.map((cell) => [cellName(cell), cell]));
    const texts = cols.map((col) => {
      const cell = byCol.get(col);
      return cell ? cellText(cell, summarizeCell(cell), disagree.has(cell)) : "–";
    });
    lines.push(`| ${id} | ${texts.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** What each group of cases is, as the report's headings say it. */
export const groupTitles: Record<CaseGroup, string> = {
  process: "Signals to the server process",
  network: "Network faults, through the relay",
  handler: "A stalled handler in a live server",
  http2: "HTTP/2 faults, from the fault peer",
  health: "What a grpc.health.v1 Watch stream reports",
  server: "The server's view: its handler, when the client dies, hangs or stops reading",
  proxy: "Behind a proxy: client -> nginx or HAProxy -> the Connect server, a tap on each hop",
  channel: "A channel's life: one long-lived channel per client, calls and faults over time",
  knob: "What one option does: a case with every library as shipped and one option set, per value",
};

/** The cells split by their case's group, in catalogue order; groups with no cells left out. */
export function cellsByGroup(cells: readonly CellResult[], catalogue: readonly LabCase[]): [CaseGroup, CellResult[]][] {
  const groupOf = new Map(catalogue.map((c) => [c.id, c.group]));
  return caseGroups
    .map((group): [CaseGroup, CellResult[]] => [group, cells.filter((cell) => groupOf.get(cell.case) === group)])
    .filter(([, groupCells]) => groupCells.length > 0);
}

/** How a table names the server its columns call. */
const serverTitles: Record<string, string> = {
  connect: "the Connect server (connect-node)",
  "grpc-js": "the grpc-js server",
  grpcio: "the grpcio server (gRPC core)",
};

/**
 * A group's tables: one per server where the group has several, so that each
 * fits a screen and every server has a table of its own (issue 12). The
 * server's view has a column per server already: one table.
 */
export function groupTables(
  group: CaseGroup,
  groupCells: readonly CellResult[],
): { title: string; cells: CellResult[] }[] {
  const servers = [...new Set(groupCells.map((cell) => cell.server))];
  if (group === "server" || servers.length < 2) return [{ title: groupTitles[group], cells: [...groupCells] }];
  return servers.map((server) => ({
    title: `${groupTitles[group]}, against ${serverTitles[server] ?? server}`,
    cells: groupCells.filter((cell) => cell.server === server),
  }));
}

/** One comparison table per group of cases (per server), each with only the columns its cases use. */
export function comparisonTables(cells: readonly CellResult[], catalogue: readonly LabCase[]): string {
  return cellsByGroup(cells, catalogue)
    .flatMap(([group, groupCells]) =>
      groupTables(group, groupCells).map((t) => `${t.title}:\n\n${comparisonTable(t.cells, groupCells)}`),
    )
    .join("\n\n");
}

/** From this share of a run's time with tasks waiting for a CPU (Linux PSI), its timing is flagged. */
const busyShare = 0.8;

/** Per case: what was done, the rule, and every departure, disagreement and race, explained. */
export function caseNotes(cells: readonly CellResult[], catalogue: readonly LabCase[]): string {
  const out: string[] = [];
  for (const [id, rowCells] of rows(cells)) {
    const labCase = catalogue.find((c) => c.id === id);
    const first = rowCells[0];
    out.push(
      `### ${id}`,
      "",
      `${labCase?.summary ?? ""}. Rule: ${first.expected.rule.join(" or ")} (${first.expected.cite}).` +
        (labCase?.timing ? ` Time: ${labCase.timing}.` : "") +
        ` Evidence each run must show: ${first.expected.evidence.join("; ")}.`,
      "",
    );
    const disagree = disagreeingCells(rowCells);
    for (const cell of rowCells) {
      const s = summarizeCell(cell);
      const notes: string[] = [];
      if (s.departs) {
        const why = cell.expected.departures.map((d) => d.why).join("; ");
        notes.push(`departs from the rule${why ? `: ${why}` : " (no known reason: look into it)"}`);
      }
      if (s.unexpected) notes.push(`outside the stated outcomes (${cell.expected.allowed.join(", ")})`);
      if (s.racy) notes.push(`racy: ${s.outcome} over ${cell.runs.length} runs`);
      if (disagree.has(cell)) notes.push("disagrees with the other stacks");
      // A timing taken while the machine's tasks waited for a CPU most of the time is the machine's too.
      const busiest = Math.max(...cell.runs.map((r) => r.cpuWait ?? 0));
      if (busiest >= busyShare && s.detectMs !== null) {
        notes.push(`timed on a busy machine (tasks waited for a CPU ${Math.round(busiest * 100)}% of a run's time)`);
      }
      // Ports differ per run; the same message with another port is the same message.
      const messages = [
        ...new Set(cell.runs.map((r) => r.message.replace(/:\d{2,5}\b(?!\.)/g, ":PORT")).filter(Boolean)),
      ];
      if (labCase?.showMessages) {
        const seen = [...new Set(cell.runs.map((r) => [...r.messages, r.code].join(" → ")))];
        notes.push(`received ${seen.join("; or ")}`);
      }
      if (notes.length > 0 || messages.length > 0) {
        const said = messages.length > 0 ? ` Message: ${messages.map((m) => `"${m}"`).join(", ")}.` : "";
        out.push(`- ${cellName(cell)}: ${s.outcome}.${notes.length > 0 ? ` ${notes.join("; ")}.` : ""}${said}`);
      }
    }
    out.push("");
  }
  return out.join("\n");
}

/** report.md: the table, its legend, the run's settings and versions, and the notes per case. */
export function markdownReport(results: LabResults, catalogue: readonly LabCase[]): string {
  const { meta } = results;
  const versions = Object.entries(meta.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  return [
    "# Liveness lab report",
    "",
    `Run ${meta.startedAt} on Node ${meta.node} (${versions}), ${Math.round(meta.wallMs / 100) / 10} s.`,
    "",
    "## What this run found",
    "",
    findingsMarkdown(findFindings(results.cells, catalogue, results.meta.versions)),
    "## How it ran",
    "",
    `Settings: \`${JSON.stringify(meta.settings)}\`.`,
    "",
    `Mode: ${meta.mode === "isolate" ? "--isolate (fresh processes for every run)" : "client agents and long-lived servers"}; wire tap ${meta.tap ? "on: every run's fault is checked on the wire" : "off"}.`,
    "",
    columnNaming,
    "Each cell: the code the client ended with, and the median time from the fault to the client's result",
    "(min–max over the runs); for `normal` and `no-server`, from the client's start. `hang`: still waiting when the watchdog fired;",
    "`lab-error`: the run proves nothing (its fault left no evidence on the wire, or the lab failed), with the reason below.",
    "",
    comparisonTables(results.cells, catalogue),
    "",
    ...legend.map((line) => `- ${line}`),
    "",
    "## Cases",
    "",
    caseNotes(results.cells, catalogue),
  ].join("\n");
}
