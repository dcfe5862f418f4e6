import type { LabCase, LabSettings } from "../catalogue/cases.ts";
import { type Finding, findFindings, findingTitles } from "./findings.ts";
import { overviewHtml, overviewScript, overviewStyle } from "./overview-html.ts";
import {
  caseNotes,
  cellsByGroup,
  cellText,
  columnNaming,
  columns,
  groupTables,
  groupTitles,
  legend,
  rows,
} from "./report-markdown.ts";
import type { CellResult, LabResults } from "./results.ts";
import { cellName, disagreeingCells, summarizeCell } from "./summary.ts";
import { timelineLegend, timelineStyle, timelineSvg, timeScale } from "./timeline-svg.ts";

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);

/** A class per outcome family, for colour. */
function outcomeClass(code: string): string {
  if (code === "ok") return "ok";
  if (code === "n/a") return "na";
  if (code === "hang") return "hang";
  if (code === "lab-error") return "broken";
  return "error";
}

function tableHtml(cells: readonly CellResult[], context: readonly CellResult[]): string {
  const cols = columns(cells);
  const contextRows = rows(context);
  const head = `<tr><th>case</th>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr>`;
  const body = [...rows(cells)]
    .map(([id, rowCells]) => {
      const disagree = disagreeingCells(contextRows.get(id) ?? rowCells);
      const byCol = new Map(rowCells.map((cell) => [cellName(cell), cell]));
      const tds = cols.map((col) => {
        const cell = byCol.get(col);
        if (!cell) return "<td>–</td>";
        const s = summarizeCell(cell);
        const classes = [
          outcomeClass(s.main),
          s.departs && "departs",
          s.unexpected && "unexpected",
          s.racy && "racy",
          disagree.has(cell) && "disagrees",
        ]
          .filter(Boolean)
          .join(" ");
        const title = `${cell.expected.cite}${cell.expected.departures.map((d) => `\n${d.why}`).join("")}`;
        return `<td class="${classes}" title="${escapeHtml(title)}">${escapeHtml(cellText(cell, s, disagree.has(cell)))}</td>`;
      });
      return `<tr><th><a href="#${escapeHtml(id)}">${escapeHtml(id)}</a></th>${tds.join("")}</tr>`;
    })
    .join("\n");
  return `<table class="matrix">${head}\n${body}</table>`;
}

const style = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1300px}
table.matrix{border-collapse:collapse;margin:12px 0}
.matrix th,.matrix td{border:1px solid #ccc;padding:3px 6px;text-align:left;font-size:13px}
.matrix th:first-child{white-space:nowrap}
.matrix td.ok{background:#e6f4e6}.matrix td.na{color:#888}.matrix td.error{background:#fff4d6}.matrix td.hang{background:#f9d6d6}.matrix td.broken{background:#ddd}
.matrix td.disagrees{outline:3px solid #e07000;outline-offset:-3px}
.matrix td.departs{font-weight:600}.matrix td.unexpected{color:#b00000}
.matrix td.racy{background-image:repeating-linear-gradient(45deg,transparent 0 6px,rgba(0,0,0,.06) 6px 12px)}
svg{display:block;margin:6px 0 18px}p.key svg{display:inline;margin:0;vertical-align:-1px}
table.settings td,table.settings th{border:1px solid #ddd;padding:2px 8px;text-align:left;font-size:13px}
table.settings{border-collapse:collapse}
code{background:#f3f3f3;padding:0 3px}
ul.findings li{margin:3px 0}.see{color:#666;font-size:12px}
.timelines{overflow-x:auto}details.timelines summary{cursor:pointer;color:#555}${timelineStyle}${overviewStyle}`;

/** The run's settings as a table a person can read. */
function settingsTable(meta: LabResults["meta"]): string {
  const s = meta.settings as Record<string, unknown>;
  const ka = s.keepalive as { intervalMs: number; timeoutMs: number } | undefined;
  const channel = s.channel as LabSettings["channel"] | undefined;
  const rowsOf: [string, string][] = [
    [
      "mode",
      `${meta.mode === "isolate" ? "--isolate: fresh processes for every run" : "client agents and long-lived servers"}${meta.tap ? ", wire tap on" : ", no wire tap"}`,
    ],
    ["messages", `${s.count} per stream, ${s.intervalMs} ms apart`],
    [
      "keepalive (+keepalive cases)",
      ka ? `PING every ${ka.intervalMs} ms without data, ${ka.timeoutMs} ms to answer` : "",
    ],
    ["deadline (+deadline cases)", `${s.deadlineMs} ms from the call's start`],
    ["idle timeout (+idle-timeout cases)", `${s.idleTimeoutMs} ms without a message`],
    ["watchdog", `a client still waiting ${s.watchdogMs} ms after the fault has hung`],
    ["Ctrl-C", `${s.ctrlCDelayMs} ms after the suspend`],
    ["restart gap", `${s.restartGapMs} ms between the two calls`],
    ...(channel
      ? ([
          [
            "channels (channel group)",
            `calls of ${channel.count} messages ${channel.intervalMs} ms apart; idle ${channel.idleBeforeMs} ms before a fault and ${channel.idleAfterMs} ms after it; a call every ${channel.everyMs} ms; outages of ${channel.outageMs} ms; spans of ${channel.spanMs} ms`,
          ],
        ] as [string, string][])
      : []),
    [
      "runs",
      `${s.repeat} per cell (a channel scenario that watches a stream of calls: one), ${s.jobs} at once${s.quick ? ", --quick" : ""}`,
    ],
  ];
  return `<table class="settings">${rowsOf.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")}</table>`;
}

/** Opens a case's timelines when they are shown: on a click, and when a link leads to the case. */
const timelineScript = `const draw = (details) => {
  const svg = details?.querySelector(":scope > script[type='text/x-svg']");
  if (svg) { svg.insertAdjacentHTML("afterend", svg.textContent); svg.remove(); }
};
document.addEventListener("toggle", (e) => { if (e.target.open) draw(e.target); }, true);
const openHash = () => {
  const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
  const details = target?.querySelector(":scope > details.timelines");
  if (details) { details.open = true; draw(details); target.scrollIntoView(); }
};
window.addEventListener("hashchange", openHash);
openHash();`;

/** The findings, first on the page: a list per kind, each finding linked to its cases' timelines. */
function findingsHtml(findings: readonly Finding[]): string {
  const lists = (Object.keys(findingTitles) as Finding["kind"][]).flatMap((kind) => {
    const mine = findings.filter((f) => f.kind === kind);
    if (mine.length === 0) return [];
    const items = mine.map((f) => {
      const links = f.cases.map((id) => `<a href="#${escapeHtml(id)}">${escapeHtml(id)}</a>`).join(", ");
      return `<li>${escapeHtml(f.text)} <span class="see">(${links})</span></li>`;
    });
    return [
      `<h3>${escapeHtml(findingTitles[kind])} (${mine.length})</h3>\n<ul class="findings">${items.join("\n")}</ul>`,
    ];
  });
  return `<section id="findings"><h2>What this run found</h2>\n${lists.join("\n")}</section>`;
}

/** report.html: one page, no outside resources, that opens offline. */
export function htmlReport(results: LabResults, catalogue: readonly LabCase[]): string {
  const { meta } = results;
  const versions = Object.entries(meta.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  const notes = caseNotes(results.cells, catalogue);
  const groups = cellsByGroup(results.cells, catalogue);
  const sections = groups
    .map(([group, groupCells]) => {
      // One scale per group, so that its rows compare.
      const scale = timeScale(groupCells);
      const cases = [...rows(groupCells)]
        .map(([id, rowCells]) => {
          const noteBlock = notes.split(/^### /m).find((block) => block.startsWith(`${id}\n`)) ?? "";
          const noteLines = noteBlock.split("\n").slice(1).filter(Boolean);
          const html = noteLines
            .map((line) =>
              line.startsWith("- ") ? `<li>${escapeHtml(line.slice(2))}</li>` : `<p>${escapeHtml(line)}</p>`,
            )
            .join("\n");
          // The timelines are drawn when opened: until then their SVG is a script's raw text, which the
          // parser skips over (issue 20: the default run's ~2,000 rows of SVG, parsed and laid out, took
          // the page as long to load as everything else together).
          const runs = rowCells.reduce((n, c) => n + c.runs.length, 0);
          return `<div class="case" id="${escapeHtml(id)}"><h3>${escapeHtml(id)}</h3>\n${html.replace(/(<li>.*<\/li>\n?)+/s, (m) => `<ul>${m}</ul>`)}\n<details class="timelines"><summary>timelines of its ${runs} run(s)</summary><script type="text/x-svg">${timelineSvg(rowCells, scale)}</script></details></div>`;
        })
        .join("\n");
      return `<h2>${escapeHtml(groupTitles[group])}: timelines</h2>\n${cases}`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Liveness lab report</title><style>${style}</style></head>
<body>
<h1>Liveness lab report</h1>
<p>Run ${escapeHtml(meta.startedAt)} on Node ${escapeHtml(meta.node)} (${escapeHtml(versions)}), ${Math.round(meta.wallMs / 100) / 10} s.</p>
${findingsHtml(findFindings(results.cells, catalogue, results.meta.versions))}
${overviewHtml(results.cells, catalogue)}
<h2>How it ran</h2>
${settingsTable(meta)}
<p>${escapeHtml(columnNaming)} Each cell: the code the client ended with and the median ms from the fault to the client's result (min–max over runs).
Green ok, yellow an error code, red a hang, grey a lab error (the run proves nothing: its fault left no evidence, or the lab failed); an orange frame where the stacks disagree; bold where the rules are departed from; hatched where runs differ. Hover a cell for the rule it is judged by.</p>
${groups
  .flatMap(([group, cells]) =>
    groupTables(group, cells).map((t) => `<h2>${escapeHtml(t.title)}</h2>\n${tableHtml(t.cells, cells)}`),
  )
  .join("\n")}
<ul>${legend.map((line) => `<li>${escapeHtml(line.replace(/`/g, ""))}</li>`).join("")}</ul>
${timelineLegend}
${sections}
<script>
${overviewScript}
${timelineScript}
</script>
</body></html>
`;
}
