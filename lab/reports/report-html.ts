import type { LabCase } from "../catalogue/cases.ts";
import { caseNotes, cellsByGroup, cellText, columns, groupTitles, legend, rows } from "./report-markdown.ts";
import type { CellResult, LabResults } from "./results.ts";
import { cellName, disagreeingCells, summarizeCell } from "./summary.ts";

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);

/** A class per outcome family, for colour. */
function outcomeClass(code: string): string {
  if (code === "ok") return "ok";
  if (code === "hang") return "hang";
  if (code === "lab-error") return "broken";
  return "error";
}

function tableHtml(cells: readonly CellResult[]): string {
  const cols = columns(cells);
  const head = `<tr><th>case</th>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr>`;
  const body = [...rows(cells)]
    .map(([id, rowCells]) => {
      const disagree = disagreeingCells(rowCells);
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

/** One SVG per case: a line per run, with message arrivals, the fault, and the end or the hang. */
function timelineSvg(rowCells: readonly CellResult[]): string {
  const runs = rowCells.flatMap((cell) =>
    cell.runs.map((run, i) => ({ cell, run, label: `${cellName(cell)} #${i + 1}` })),
  );
  const maxMs = Math.max(1, ...runs.map(({ run }) => run.timeline.endMs));
  const labelW = 230;
  const plotW = 640;
  const rowH = 16;
  const height = runs.length * rowH + 30;
  const x = (ms: number) => labelW + (ms / maxMs) * plotW;
  const parts: string[] = [];
  runs.forEach(({ run, label }, i) => {
    const y = 14 + i * rowH;
    const end = x(run.timeline.endMs);
    parts.push(`<text x="4" y="${y + 4}" class="lbl">${escapeHtml(label)}</text>`);
    parts.push(`<line x1="${labelW}" y1="${y}" x2="${end}" y2="${y}" class="${run.hung ? "wait hung" : "wait"}"/>`);
    for (const ms of run.timeline.messagesMs)
      parts.push(`<circle cx="${x(ms)}" cy="${y}" r="3.5" class="msg"><title>message at ${ms} ms</title></circle>`);
    for (const f of run.timeline.faults) {
      parts.push(
        `<line x1="${x(f.atMs)}" y1="${y - 6}" x2="${x(f.atMs)}" y2="${y + 6}" class="fault"><title>${escapeHtml(`${f.what} (${f.target}) at ${f.atMs} ms`)}</title></line>`,
      );
    }
    const endTitle = run.hung
      ? `still waiting at ${run.timeline.endMs} ms: hang`
      : `${run.code} at ${run.timeline.endMs} ms${run.detectMs !== null ? ` (${run.detectMs} ms after the fault)` : ""}`;
    parts.push(
      `<rect x="${end - 3}" y="${y - 5}" width="6" height="10" class="end ${outcomeClass(run.code)}"><title>${escapeHtml(endTitle)}</title></rect>`,
    );
    parts.push(`<text x="${end + 6}" y="${y + 4}" class="code">${escapeHtml(run.code)}</text>`);
  });
  parts.push(`<text x="${labelW}" y="${height - 4}" class="axis">0 ms (client start)</text>`);
  parts.push(`<text x="${labelW + plotW}" y="${height - 4}" class="axis" text-anchor="end">${maxMs} ms</text>`);
  return `<svg viewBox="0 0 ${labelW + plotW + 130} ${height}" width="${labelW + plotW + 130}" height="${height}" role="img">${parts.join("")}</svg>`;
}

const style = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1300px}
table.matrix{border-collapse:collapse;margin:12px 0}
.matrix th,.matrix td{border:1px solid #ccc;padding:3px 6px;text-align:left;font-size:13px}
.matrix th:first-child{white-space:nowrap}
.matrix td.ok{background:#e6f4e6}.matrix td.error{background:#fff4d6}.matrix td.hang{background:#f9d6d6}.matrix td.broken{background:#ddd}
.matrix td.disagrees{outline:3px solid #e07000;outline-offset:-3px}
.matrix td.departs{font-weight:600}.matrix td.unexpected{color:#b00000}
.matrix td.racy{background-image:repeating-linear-gradient(45deg,transparent 0 6px,rgba(0,0,0,.06) 6px 12px)}
svg{display:block;margin:6px 0 18px}svg .lbl,svg .code,svg .axis{font:11px monospace;fill:#333}
svg .wait{stroke:#888;stroke-width:2}svg .wait.hung{stroke:#c00;stroke-dasharray:4 3}
svg .msg{fill:#2a6fdb}svg .fault{stroke:#c00;stroke-width:3}
svg .end.ok{fill:#2a9d3a}svg .end.error{fill:#e0a000}svg .end.hang{fill:#c00}svg .end.broken{fill:#666}
code{background:#f3f3f3;padding:0 3px}`;

/** report.html: one page, no outside resources, that opens offline. */
export function htmlReport(results: LabResults, catalogue: readonly LabCase[]): string {
  const { meta } = results;
  const versions = Object.entries(meta.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  const notes = caseNotes(results.cells, catalogue);
  const sections = [...rows(results.cells)]
    .map(([id, rowCells]) => {
      const noteBlock = notes.split(/^### /m).find((block) => block.startsWith(`${id}\n`)) ?? "";
      const noteLines = noteBlock.split("\n").slice(1).filter(Boolean);
      const html = noteLines
        .map((line) => (line.startsWith("- ") ? `<li>${escapeHtml(line.slice(2))}</li>` : `<p>${escapeHtml(line)}</p>`))
        .join("\n");
      return `<h3 id="${escapeHtml(id)}">${escapeHtml(id)}</h3>\n${html.replace(/(<li>.*<\/li>\n?)+/s, (m) => `<ul>${m}</ul>`)}\n${timelineSvg(rowCells)}`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Liveness lab report</title><style>${style}</style></head>
<body>
<h1>Liveness lab report</h1>
<p>Run ${escapeHtml(meta.startedAt)} on Node ${escapeHtml(meta.node)} (${escapeHtml(versions)}), ${Math.round(meta.wallMs / 100) / 10} s.
Settings: <code>${escapeHtml(JSON.stringify(meta.settings))}</code></p>
<p>Each cell: the code the client ended with and the median ms from the fault to the client's result (min–max over runs).
Green ok, yellow an error code, red a hang; an orange frame where the stacks disagree; bold where the rules are departed from; hatched where runs differ. Hover a cell for the rule it is judged by.</p>
${cellsByGroup(results.cells, catalogue)
  .map(([group, cells]) => `<h2>${escapeHtml(groupTitles[group])}</h2>\n${tableHtml(cells)}`)
  .join("\n")}
<ul>${legend.map((line) => `<li>${escapeHtml(line.replace(/`/g, ""))}</li>`).join("")}</ul>
<h2>Timelines</h2>
<p>Per case, one line per run, in ms since the client started: <span style="color:#2a6fdb">●</span> a message arrived,
<span style="color:#c00">|</span> the fault, ■ the client's result (red dashes: still waiting when the watchdog fired).</p>
${sections}
</body></html>
`;
}
