import type { LabCase } from "../catalogue/cases.ts";
import { cellsByGroup, groupTitles, rows } from "./report-markdown.ts";
import type { CellResult } from "./results.ts";
import { cellName, disagreeingCells, summarizeCell } from "./summary.ts";

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);

/** A column of the overview: one server and one client stack (the server alone for its own view). */
interface Column {
  key: string;
  server: string;
  /** "connect/grpc", or "" for the server's view. */
  client: string;
}

const colour = (code: string) =>
  code === "ok" ? "ok" : code === "hang" ? "hang" : code === "lab-error" ? "broken" : code === "n/a" ? "na" : "error";

/**
 * The whole matrix in one picture (issue 20): a row per case, a column per
 * server and client stack, a square per cell coloured by outcome with the
 * marks of the tables, each a link to its case's timelines; checkboxes hide
 * groups, servers and clients.
 */
export function overviewHtml(cells: readonly CellResult[], catalogue: readonly LabCase[]): string {
  const columns: Column[] = [];
  const seen = new Set<string>();
  // Servers in the order the cells came (the catalogue's), clients within each.
  for (const cell of cells) {
    const client = cell.client ? `${cell.client}/${cell.protocol}` : "";
    const key = `${cell.server}|${client}`;
    if (seen.has(key)) continue;
    seen.add(key);
    columns.push({ key, server: cell.server, client });
  }
  const servers = [...new Set(columns.map((c) => c.server))];
  columns.sort((a, b) => servers.indexOf(a.server) - servers.indexOf(b.server) || a.client.localeCompare(b.client));
  const clients = [...new Set(columns.map((c) => c.client).filter(Boolean))].sort();
  const groups = cellsByGroup(cells, catalogue);

  const checkbox = (value: string, label: string) =>
    `<label><input type="checkbox" value="${escapeHtml(value)}" checked> ${escapeHtml(label)}</label>`;
  const filters = `<div id="filters"><b>Show</b> groups: ${groups.map(([g]) => checkbox(`group:${g}`, g)).join(" ")}
<br>servers: ${servers.map((s) => checkbox(`server:${s}`, s)).join(" ")}
<br>clients: ${clients.map((c) => checkbox(`client:${c}`, c)).join(" ")}</div>`;

  const attrs = (c: Column) => `data-server="${escapeHtml(c.server)}" data-client="${escapeHtml(c.client)}"`;
  const head1 = servers
    .map(
      (s) =>
        `<th colspan="${columns.filter((c) => c.server === s).length}" data-server="${escapeHtml(s)}">${escapeHtml(s)}</th>`,
    )
    .join("");
  const head2 = columns
    .map((c) => `<th class="v" ${attrs(c)}><span>${escapeHtml(c.client || "(its view)")}</span></th>`)
    .join("");
  const body = groups
    .map(([group, groupCells]) => {
      const title = `<tr data-group="${group}" class="g"><th colspan="${columns.length + 1}">${escapeHtml(groupTitles[group])}</th></tr>`;
      const caseRows = [...rows(groupCells)].map(([id, rowCells]) => {
        const disagree = disagreeingCells(rowCells);
        const byKey = new Map(
          rowCells.map((cell) => [`${cell.server}|${cell.client ? `${cell.client}/${cell.protocol}` : ""}`, cell]),
        );
        const tds = columns.map((c) => {
          const cell = byKey.get(c.key);
          if (!cell) return `<td ${attrs(c)}></td>`;
          const s = summarizeCell(cell);
          const marks = [s.departs && "*", s.unexpected && "!", s.racy && "~", disagree.has(cell) && "≠"]
            .filter(Boolean)
            .join("");
          const time = s.detectMs !== null ? ` ${s.detectMs} ms` : "";
          return `<td ${attrs(c)} class="${colour(s.main)}" title="${escapeHtml(`${id} ${cellName(cell)}: ${s.outcome}${time}`)}"><a href="#${escapeHtml(id)}">${escapeHtml(marks)}</a></td>`;
        });
        return `<tr data-group="${group}"><th><a href="#${escapeHtml(id)}">${escapeHtml(id)}</a></th>${tds.join("")}</tr>`;
      });
      return [title, ...caseRows].join("\n");
    })
    .join("\n");
  return `<section id="overview"><h2>The whole matrix at a glance</h2>
<p>A square per cell: green ok, yellow an error code, red a hang, grey a lab error, blank n/a; the marks as in the tables (<code>*</code> departs from the rules, <code>≠</code> disagrees, <code>~</code> racy, <code>!</code> outside the stated outcomes). Hover for the outcome; click for the case's timelines.</p>
${filters}
<table class="overview"><tr><th></th>${head1}</tr><tr><th></th>${head2}</tr>
${body}
</table></section>`;
}

/** The overview's filters: a checkbox left unticked hides its group's rows or its columns. */
export const overviewScript = `document.getElementById("filters")?.addEventListener("change", () => {
  const off = new Set([...document.querySelectorAll("#filters input:not(:checked)")].map((i) => i.value));
  for (const row of document.querySelectorAll("#overview tr[data-group]")) row.hidden = off.has("group:" + row.dataset.group);
  for (const el of document.querySelectorAll("#overview [data-server]")) {
    const hide = off.has("server:" + el.dataset.server) || (el.dataset.client !== undefined && off.has("client:" + el.dataset.client));
    el.style.display = hide ? "none" : "";
  }
});`;

export const overviewStyle = `
table.overview{border-collapse:collapse;font-size:12px}
.overview td{width:14px;height:14px;padding:0;border:1px solid #fff;text-align:center;font-size:10px;line-height:14px}
.overview td a{color:#222;text-decoration:none;display:block}
.overview td.ok{background:#8fd18f}.overview td.error{background:#f2cf6b}.overview td.hang{background:#e06666}.overview td.broken{background:#aaa}.overview td.na{background:#f4f4f4}
.overview th{font-weight:normal;text-align:left;padding:0 6px 0 0;white-space:nowrap}
.overview tr.g th{font-weight:600;padding-top:8px}
.overview th.v{height:110px;vertical-align:bottom;padding:0}.overview th.v span{writing-mode:vertical-rl;transform:rotate(180deg);display:inline-block}
#filters label{margin-right:8px;white-space:nowrap}`;
