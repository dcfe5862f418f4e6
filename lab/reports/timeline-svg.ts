/**
 * One SVG per case for report.html: a row per run on one time axis whose 0
 * is the fault (the origin of the table's figures), with what crossed the
 * wire each way, the messages the client got, the fault and the client's
 * result, so a reader sees why the client concluded what it did ("PING at
 * 250, no ACK, connection closed at 500").
 */
import type { CellResult } from "./results.ts";
import type { ChannelCallRecord, RunRecord, WireFrame } from "./run-record.ts";
import { cellName } from "./summary.ts";

const escapeXml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);

/** The span of ms a group's timelines share, so that their rows compare. */
export interface TimeScale {
  fromMs: number;
  toMs: number;
}

/** The scale that holds every run of these cells: from the earliest call start to the latest end. */
export function timeScale(cells: readonly CellResult[]): TimeScale {
  const runs = cells.flatMap((cell) => cell.runs);
  const starts = runs.flatMap((run) => (run.timeline.callStartMs === null ? [] : [run.timeline.callStartMs]));
  const ends = runs.map((run) => run.timeline.endMs);
  return { fromMs: Math.min(0, ...starts), toMs: Math.max(1, ...ends) };
}

/** Ticks every 50, 100, 250, 500 ms or more, some 6-12 over the span. */
function tickStep(spanMs: number): number {
  for (const step of [10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10_000]) if (spanMs / step <= 12) return step;
  return 20_000;
}

const layout = { labelW: 250, plotW: 760, codeW: 160, rowH: 40, axisH: 34 };

/** A mark in one lane of a row, placed so that marks of the lane (and their labels) never cover one another. */
interface Mark {
  x: number;
  /** Room it takes to the right of x, its label included. */
  width: number;
  svg: (x: number) => string;
}

function placeLane(marks: Mark[]): string[] {
  const sorted = [...marks].sort((a, b) => a.x - b.x);
  let free = Number.NEGATIVE_INFINITY;
  return sorted.map((mark) => {
    const x = Math.max(mark.x, free + 5);
    free = x + mark.width;
    return mark.svg(x);
  });
}

/** The width of a mark with an optional label, in px (11px monospace: ~6 px a character). */
const markWidth = (label?: string) => 5 + (label ? 6 + label.length * 6 : 0);

/** What a frame is called on a timeline, or undefined for the ones it leaves out (SETTINGS, WINDOW_UPDATE). */
function frameLabel(f: WireFrame): { kind: string; text: string } | undefined {
  const ack = f.flags?.includes("ACK");
  if (f.type === "PING") return { kind: ack ? "ack" : "ping", text: ack ? "PING ACK" : "PING" };
  if (f.type === "GOAWAY") return { kind: "goaway", text: `GOAWAY ${f.error ?? ""}` };
  if (f.type === "RST_STREAM") return { kind: "rst", text: `RST_STREAM ${f.error ?? ""}` };
  if (f.status) return { kind: "status", text: `status ${f.status.code ?? "none"}` };
  // A response that ends with no status at all (HAProxy, having lost its server: issue 14).
  if (f.dir === "s2c" && f.stream > 0 && f.flags?.includes("END_STREAM"))
    return { kind: "bare-end", text: "END_STREAM no status" };
  if (f.type === "HEADERS" && f.dir === "c2s") return { kind: "request", text: "request" };
  return undefined;
}

function markSvg(kind: string, y: number, title: string, label?: string, dropped = false): (x: number) => string {
  const svg = markShape(kind, y, title, label);
  // Held back by a blackhole: it never reached the other side, so it is drawn faint.
  return dropped ? (x) => `<g class="dropped">${svg(x)}</g>` : svg;
}

function markShape(kind: string, y: number, title: string, label?: string): (x: number) => string {
  const t = `<title>${escapeXml(title)}</title>`;
  const text = (x: number) => (label ? `<text x="${x + 5}" y="${y + 3}" class="fl">${escapeXml(label)}</text>` : "");
  switch (kind) {
    case "ping":
      return (x) => `<circle cx="${x}" cy="${y}" r="3.5" class="ping">${t}</circle>`;
    case "ack":
      return (x) => `<circle cx="${x}" cy="${y}" r="3.5" class="ack">${t}</circle>`;
    case "goaway":
      return (x) =>
        `<path d="M${x - 4},${y - 4}L${x + 4},${y - 4}L${x},${y + 4}Z" class="goaway">${t}</path>${text(x)}`;
    case "rst":
      return (x) =>
        `<path d="M${x - 4},${y - 4}L${x + 4},${y + 4}M${x - 4},${y + 4}L${x + 4},${y - 4}" class="rst">${t}</path>${text(x)}`;
    case "status":
      return (x) => `<rect x="${x - 3.5}" y="${y - 3.5}" width="7" height="7" class="status">${t}</rect>${text(x)}`;
    case "bare-end":
      return (x) => `<rect x="${x - 3.5}" y="${y - 3.5}" width="7" height="7" class="bare">${t}</rect>${text(x)}`;
    case "request":
      return (x) => `<path d="M${x},${y - 4}L${x},${y + 4}" class="req">${t}</path>`;
    case "fin":
      return (x) =>
        `<path d="M${x - 3},${y - 5}L${x - 3},${y + 5}M${x + 1},${y - 5}L${x + 1},${y + 5}" class="fin">${t}</path>`;
    default:
      return (x) => `<circle cx="${x}" cy="${y}" r="4" class="reset">${t}</circle>${text(x)}`;
  }
}

/**
 * One row: the call's life on the middle line, client-to-server frames above
 * it, server-to-client below. Behind a proxy a run has two rows: the client's
 * hop (to the proxy), then the proxy's hop to the server (`hop`
 * "proxy-server": the proxy's frames above, the server's below, and no
 * messages nor result of its own).
 */
function runRow(
  run: RunRecord,
  label: string,
  y: number,
  x: (ms: number) => number,
  hop: "client" | "proxy-server" = "client",
): string {
  const parts: string[] = [];
  const { timeline } = run;
  const upstream = hop === "proxy-server";
  const start = x(timeline.callStartMs ?? 0);
  const end = x(timeline.endMs);
  const up = y - 11;
  const down = y + 11;
  parts.push(`<text x="4" y="${y + 4}" class="lbl">${escapeXml(label)}</text>`);
  // The call's life: solid while it ran its course, red dashes from the fault to the watchdog on a hang.
  const faultX = timeline.faults.length > 0 ? x(0) : end;
  if (upstream) parts.push(`<line x1="${start}" y1="${y}" x2="${end}" y2="${y}" class="hop"/>`);
  else {
    parts.push(`<line x1="${start}" y1="${y}" x2="${run.hung ? faultX : end}" y2="${y}" class="life"/>`);
    if (run.hung) parts.push(`<line x1="${faultX}" y1="${y}" x2="${end}" y2="${y}" class="life hung"/>`);
  }
  // The fault's steps: a tick across the row's lanes, drawn first so that marks sit on top.
  for (const f of timeline.faults) {
    parts.push(
      `<line x1="${x(f.atMs)}" y1="${up - 6}" x2="${x(f.atMs)}" y2="${down + 6}" class="fault"><title>${escapeXml(`${f.what} (${f.target}) at ${f.atMs} ms`)}</title></line>`,
    );
  }
  const lanes: Record<"c2s" | "s2c" | "line", Mark[]> = { c2s: [], s2c: [], line: [] };
  const [near, far] = upstream ? ["proxy", "server"] : ["client", run.wire?.some((c) => c.hop) ? "proxy" : "server"];
  for (const conn of (run.wire ?? []).filter((c) => (c.hop === "proxy-server") === upstream)) {
    for (const f of conn.frames) {
      const named = frameLabel(f);
      if (!named) continue;
      const ly = f.dir === "c2s" ? up : down;
      const title = `${f.t} ms: ${f.dir === "c2s" ? `${near} → ${far}` : `${far} → ${near}`} ${named.text}${f.dropped ? " (held back by the blackhole)" : ""}${f.status?.message ? ` "${f.status.message}"` : ""}`;
      const withLabel = ["goaway", "rst", "status", "bare-end"].includes(named.kind);
      const text = withLabel ? named.text.replace(/^\w+ /, "") : undefined;
      lanes[f.dir].push({
        x: x(f.t),
        width: markWidth(text),
        svg: markSvg(named.kind, ly, title, text, f.dropped === true),
      });
    }
    for (const e of conn.tcp) {
      if (e.event === "open" || e.leg !== "client") continue;
      const lane = e.by === "client" ? "c2s" : "s2c";
      const by = e.by === "client" ? near : e.by === "server" ? far : "relay";
      const title = `${e.t} ms: TCP ${e.event === "fin" ? "FIN" : e.event === "reset" ? "RST" : e.event} on the ${near}'s connection, by the ${by}`;
      lanes[lane].push({
        x: x(e.t),
        width: markWidth(),
        svg: markSvg(e.event === "fin" ? "fin" : "reset", lane === "c2s" ? up : down, title),
      });
    }
  }
  for (const [i, ms] of upstream ? [] : timeline.messagesMs.entries()) {
    lanes.line.push({
      x: x(ms),
      width: 4,
      svg: (mx) =>
        `<circle cx="${mx}" cy="${y}" r="4" class="msg"><title>${escapeXml(`message ${i + 1} at ${ms} ms: ${run.messages[i] ?? ""}`)}</title></circle>`,
    });
  }
  for (const lane of Object.values(lanes)) parts.push(...placeLane(lane));
  if (upstream) return parts.join("");
  const endTitle = run.hung
    ? `still waiting at ${timeline.endMs} ms: hang`
    : `${run.code} at ${timeline.endMs} ms${run.message ? `: ${run.message}` : ""}`;
  const cls = run.code === "ok" ? "ok" : run.code === "hang" ? "hang" : run.code === "lab-error" ? "broken" : "error";
  parts.push(
    `<rect x="${end - 4}" y="${y - 6}" width="8" height="12" class="end ${cls}"><title>${escapeXml(endTitle)}</title></rect>`,
  );
  parts.push(`<text x="${layout.labelW + layout.plotW + 14}" y="${y + 4}" class="code">${escapeXml(run.code)}</text>`);
  return parts.join("");
}

/** Greedy lanes for a channel's calls: a call goes in the first lane free at its start. */
function callLanes(calls: readonly ChannelCallRecord[]): number[] {
  const ends: number[] = [];
  return calls.map((call) => {
    let lane = ends.findIndex((end) => end <= call.startMs);
    if (lane < 0) lane = ends.length;
    ends[lane] = call.endMs;
    return lane;
  });
}

/** How tall a run's row is: a channel's calls may overlap and take several lanes (issue 17). */
function rowHeight(run: RunRecord): number {
  if (!run.channel) return layout.rowH;
  const lanes = Math.max(1, ...callLanes(run.channel.calls).map((l) => l + 1));
  return Math.max(layout.rowH, 28 + lanes * 7);
}

/**
 * A channel's run (issue 17): its calls as bars on the axis, one per call,
 * coloured by how each ended (red dashes: a hang), the fault's steps and the
 * recovery marked, and above them what crossed the wire: new connections,
 * GOAWAYs, PINGs and resets; at the right, the count of the watched calls.
 */
function channelRow(run: RunRecord, label: string, y: number, height: number, x: (ms: number) => number): string {
  const channel = run.channel;
  if (!channel) return "";
  const parts: string[] = [`<text x="4" y="${y + 4}" class="lbl">${escapeXml(label)}</text>`];
  const top = y - 10;
  const bottom = y - 10 + height - 12;
  for (const f of run.timeline.faults) {
    parts.push(
      `<line x1="${x(f.atMs)}" y1="${top - 6}" x2="${x(f.atMs)}" y2="${bottom}" class="fault"><title>${escapeXml(`${f.what} (${f.target}) at ${f.atMs} ms`)}</title></line>`,
    );
  }
  // The wire, one lane above the calls: connections opening, GOAWAYs, PINGs, closes and resets.
  const wire: Mark[] = [];
  for (const conn of run.wire ?? []) {
    const where = conn.backend !== undefined ? ` (backend ${conn.backend})` : "";
    const open = conn.tcp.find((e) => e.leg === "client" && e.event === "open");
    if (open) {
      wire.push({
        x: x(open.t),
        width: 6,
        svg: (mx) =>
          `<path d="M${mx},${top - 5}L${mx},${top + 5}M${mx - 3},${top}L${mx + 3},${top}" class="conn"><title>${escapeXml(`${open.t} ms: connection ${conn.id}${where} opens`)}</title></path>`,
      });
    }
    for (const f of conn.frames) {
      if (f.type !== "GOAWAY" && f.type !== "PING" && f.type !== "RST_STREAM") continue;
      if (f.type === "PING" && f.flags?.includes("ACK")) continue;
      const named = frameLabel(f);
      if (!named) continue;
      const by = f.dir === "c2s" ? "client" : "server";
      wire.push({
        x: x(f.t),
        width: markWidth(),
        svg: markSvg(named.kind, top, `${f.t} ms: ${by} → ${named.text}${where}`, undefined, f.dropped === true),
      });
    }
    for (const e of conn.tcp) {
      if (e.event === "open" || e.leg !== "client") continue;
      wire.push({
        x: x(e.t),
        width: markWidth(),
        svg: markSvg(e.event === "fin" ? "fin" : "reset", top, `${e.t} ms: TCP ${e.event} by the ${e.by}${where}`),
      });
    }
  }
  parts.push(...placeLane(wire));
  const lanes = callLanes(channel.calls);
  channel.calls.forEach((call, i) => {
    const cy = top + 12 + lanes[i] * 7;
    const cls = call.code === "ok" ? "ok" : call.code === "hang" ? "hang" : "error";
    const title = `${call.label} call at ${call.startMs} ms: ${call.code === "hang" ? `still waiting at ${call.endMs} ms` : `${call.code} at ${call.endMs} ms`}${call.message ? ` "${call.message}"` : ""}, ${call.received} message(s)`;
    parts.push(
      `<line x1="${x(call.startMs)}" y1="${cy}" x2="${Math.max(x(call.endMs), x(call.startMs) + 2)}" y2="${cy}" class="bar ${cls}"><title>${escapeXml(title)}</title></line>`,
    );
  });
  const { summary } = channel;
  if (summary.recoveryMs !== null && summary.recoveryMs > 0) {
    const last = run.timeline.faults[run.timeline.faults.length - 1]?.atMs ?? 0;
    const rx = x(last + summary.recoveryMs);
    parts.push(
      `<path d="M${rx},${top - 6}L${rx + 5},${top - 1}L${rx},${top + 4}Z" class="recovered"><title>${escapeXml(`recovered ${summary.recoveryMs} ms after the last fault step`)}</title></path>`,
    );
  }
  const failed = Object.entries(summary.failed)
    .map(([code, n]) => `${n} ${code}`)
    .join(", ");
  const counts = `${summary.ok} ok${failed ? `, ${failed}` : ""}${summary.hung ? `, ${summary.hung} hung` : ""}`;
  parts.push(`<text x="${layout.labelW + layout.plotW + 14}" y="${y}" class="code">${escapeXml(run.code)}</text>`);
  parts.push(
    `<text x="${layout.labelW + layout.plotW + 14}" y="${y + 12}" class="fl">${escapeXml(counts)}${summary.recoveryMs !== null ? escapeXml(` · back in ${summary.recoveryMs} ms`) : ""}</text>`,
  );
  return parts.join("");
}

/** The timelines of one case: a row per run, on the group's scale. */
export function timelineSvg(rowCells: readonly CellResult[], scale: TimeScale): string {
  const runs = rowCells.flatMap((cell) =>
    cell.runs
      .filter((run) => run.code !== "n/a")
      .flatMap((run, i) => [
        { run, label: `${cellName(cell)} #${i + 1}`, hop: "client" as const },
        // Behind a proxy: a second row for the proxy's hop to the server.
        ...(run.wire?.some((c) => c.hop === "proxy-server")
          ? [{ run, label: "  ↳ proxy → server", hop: "proxy-server" as const }]
          : []),
      ]),
  );
  const { labelW, plotW, codeW, axisH } = layout;
  const span = Math.max(1, scale.toMs - scale.fromMs);
  const x = (ms: number) => labelW + ((Math.min(scale.toMs, Math.max(scale.fromMs, ms)) - scale.fromMs) / span) * plotW;
  const heights = runs.map(({ run, hop }) => (hop === "client" ? rowHeight(run) : layout.rowH));
  const rowsH = heights.reduce((a, b) => a + b, 0);
  const height = rowsH + axisH + 8;
  const parts: string[] = [];
  // The axis: labelled ticks, 0 (the fault) marked.
  const step = tickStep(span);
  const axisY = rowsH + 10;
  for (let ms = Math.ceil(scale.fromMs / step) * step; ms <= scale.toMs; ms += step) {
    parts.push(`<line x1="${x(ms)}" y1="4" x2="${x(ms)}" y2="${axisY}" class="${ms === 0 ? "zero" : "grid"}"/>`);
    parts.push(
      `<text x="${x(ms)}" y="${axisY + 14}" class="tick" text-anchor="middle">${ms === 0 ? "0 fault" : ms}</text>`,
    );
  }
  parts.push(`<text x="${labelW + plotW}" y="${axisY + 28}" class="tick" text-anchor="end">ms from the fault</text>`);
  let y = 22;
  runs.forEach(({ run, label, hop }, i) => {
    parts.push(run.channel ? channelRow(run, label, y, heights[i], x) : runRow(run, label, y, x, hop));
    y += heights[i];
  });
  const width = labelW + plotW + codeW;
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">${parts.join("")}</svg>`;
}

/** The key to the timelines' marks, as a line of HTML. */
export const timelineLegend = `<p class="key">Rows: one per run, 0 at the fault (for <code>normal</code>, <code>no-server</code> and the mute peer: the call's start; for the stalled handler: message 1).
Above each line what the client sent, below it what the server sent (behind a proxy, a run has a second row, ↳ proxy → server: above it what the proxy sent the server, below it what the server sent the proxy):
<svg width="12" height="10"><circle cx="6" cy="5" r="3.5" class="ping"/></svg> PING,
<svg width="12" height="10"><circle cx="6" cy="5" r="3.5" class="ack"/></svg> PING ACK,
<svg width="12" height="10"><path d="M2,1L10,1L6,9Z" class="goaway"/></svg> GOAWAY,
<svg width="12" height="10"><path d="M2,1L10,9M2,9L10,1" class="rst"/></svg> RST_STREAM,
<svg width="12" height="10"><rect x="2" y="1" width="7" height="7" class="status"/></svg> a status (trailers or end-stream message),
<svg width="12" height="10"><rect x="2" y="1" width="7" height="7" class="bare"/></svg> the response's end with no status,
<svg width="12" height="10"><path d="M3,0L3,10M7,0L7,10" class="fin"/></svg> TCP FIN,
<svg width="12" height="10"><circle cx="6" cy="5" r="4" class="reset"/></svg> TCP RST; faint: held back by a blackhole, never delivered;
on the line <svg width="12" height="10"><circle cx="6" cy="5" r="4" class="msg"/></svg> a message the client got,
<svg width="12" height="10"><path d="M6,0L6,10M3,5L9,5" class="conn"/></svg> a new connection;
a channel's run (issue 17): one bar per call, <svg width="16" height="8"><line x1="0" y1="4" x2="16" y2="4" class="bar ok"/></svg> ok,
<svg width="16" height="8"><line x1="0" y1="4" x2="16" y2="4" class="bar error"/></svg> an error code,
<svg width="16" height="8"><line x1="0" y1="4" x2="16" y2="4" class="bar hang"/></svg> still waiting at the end,
<svg width="10" height="10"><path d="M2,0L7,5L2,10Z" class="recovered"/></svg> recovered (every call ok from then on),
<svg width="12" height="12"><line x1="6" y1="0" x2="6" y2="12" class="fault"/></svg> the fault,
■ the client's result (red dashes: still waiting when the watchdog fired). Hover a mark for its time and details.</p>`;

/** The timelines' styles. */
export const timelineStyle = `
svg .lbl,svg .code,svg .tick,svg .fl{font:11px monospace;fill:#333}svg .fl{font-size:10px;fill:#555}
svg .grid{stroke:#eee}svg .zero{stroke:#c00;stroke-opacity:.35}
svg .life{stroke:#999;stroke-width:2}svg .hop{stroke:#ccc;stroke-width:1;stroke-dasharray:2 2}svg .life.hung{stroke:#c00;stroke-dasharray:4 3}
svg .msg{fill:#2a6fdb}svg .fault{stroke:#c00;stroke-width:2;stroke-opacity:.7}
svg .ping{fill:#fff;stroke:#7a3db8;stroke-width:1.5}svg .ack{fill:#7a3db8}
svg .goaway{fill:#e07000}svg .rst{stroke:#c00;stroke-width:2;fill:none}svg .status{fill:#2a9d3a}svg .bare{fill:#fff;stroke:#2a9d3a;stroke-width:1.5}
svg .req{stroke:#666;stroke-width:2}svg .fin{stroke:#444;stroke-width:1.5}svg .reset{fill:#fff;stroke:#c00;stroke-width:2}
svg .end.ok{fill:#2a9d3a}svg .end.error{fill:#e0a000}svg .end.hang{fill:#c00}svg .end.broken{fill:#666}
svg .dropped{opacity:.3}
svg .bar{stroke-width:4;stroke-linecap:butt}svg .bar.ok{stroke:#2a9d3a}svg .bar.error{stroke:#e0a000}svg .bar.hang{stroke:#c00;stroke-dasharray:4 2}
svg .conn{stroke:#2a6fdb;stroke-width:1.5}svg .recovered{fill:#2a9d3a}`;
