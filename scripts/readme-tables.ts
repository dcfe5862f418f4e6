/**
 * The README's tables of findings, from a real run's results.json, so that
 * every figure there comes from a run (and the next run refreshes them):
 *
 *   npm run lab -- --check && npm run readme:tables            # lab-report/results.json
 *   npm run readme:tables -- other/results.json
 *
 * Prints markdown to stdout: the run's line (cells, runs, time, versions),
 * then one table per README section. Each cell: the code the runs ended
 * with and the median ms to it; where runs disagreed, every code.
 */
import { readFileSync } from "node:fs";
import { labCases } from "../lab/catalogue/cases.ts";
import type { CellResult, LabResults } from "../lab/reports/results.ts";
import { medianRange, summarizeCell } from "../lab/reports/summary.ts";
import { runCli, UsageError } from "../lib/cli.ts";

const clients = ["connect/grpc", "connect/connect", "connect/grpc-web", "grpc-js/grpc", "grpcio/grpc"];
const clientName = (c: string) => (c.startsWith("connect/") ? c : c.split("/")[0]);

/** "ok 1031", "hang", "aborted x2, canceled x1 14"; "" for no such cell. */
function shown(cell: CellResult | undefined): string {
  if (!cell) return "";
  const s = summarizeCell(cell);
  return s.detectMs === null ? s.outcome : `${s.outcome} ${s.detectMs}`;
}

/** The code alone ("hang", "ok+unavailable"; racy cells their outcome). */
const codeOf = (cell: CellResult) => summarizeCell(cell).outcome;

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((x, i) => (x ?? "").padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/**
 * Several clients' codes in a few words: "all ok", or each code with the
 * clients that ended with it ("connect: canceled; grpc-js, grpcio: unavailable").
 */
function agreement(cells: CellResult[]): string {
  if (cells.length === 0) return "";
  const by = new Map<string, string[]>();
  for (const cell of cells) {
    const code = codeOf(cell);
    by.set(code, [...(by.get(code) ?? []), `${cell.client}/${cell.protocol}`]);
  }
  if (by.size === 1) return `all ${[...by.keys()][0]}`;
  // connect-node's protocols as "connect" where every one of them among these cells agrees.
  const present = cells.map((c) => `${c.client}/${c.protocol}`).filter((s) => s.startsWith("connect/"));
  const names = (stacks: string[]) => {
    const connect = stacks.filter((s) => s.startsWith("connect/"));
    const all = present.every((c) => connect.includes(c));
    const named = [
      ...(all ? ["connect"] : connect),
      ...stacks.filter((s) => !s.startsWith("connect/")).map(clientName),
    ];
    return [...new Set(named)].join(", ");
  };
  return [...by].map(([code, stacks]) => `${names(stacks)}: ${code}`).join("; ");
}

function main(argv: string[]) {
  const file = argv[0] ?? "lab-report/results.json";
  let results: LabResults;
  try {
    results = JSON.parse(readFileSync(file, "utf8")) as LabResults;
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const cells = results.cells;
  const find = (id: string, server: string, client: string) =>
    cells.find((c) => c.case === id && c.server === server && `${c.client}/${c.protocol}` === client);
  const ofCase = (id: string, server?: string) =>
    cells.filter((c) => c.case === id && (server === undefined || c.server === server));
  const ids = (pred: (id: string) => boolean) => [...new Set(cells.map((c) => c.case))].filter(pred);
  const groupOf = (id: string) => labCases.find((c) => c.id === id)?.group;
  const runs = cells.reduce((n, c) => n + c.runs.length, 0);
  const { meta } = results;
  const out: string[] = [];
  out.push(
    `Run: ${meta.startedAt.slice(0, 10)}, ${cells.length} cells, ${runs} runs, ${(meta.wallMs / 1000).toFixed(1)} s; Node ${meta.node}; ${Object.entries(
      meta.versions,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    "",
  );

  // Against the Connect server, every client; the other servers in a few words.
  const oneCall = ids((id) => ["process", "network", "handler", "health"].includes(groupOf(id) ?? ""));
  out.push(
    "## Against the Connect server",
    "",
    table(
      ["case", ...clients.map(clientName), "grpc-js server", "grpcio server"],
      oneCall
        .filter((id) => find(id, "connect", "connect/grpc"))
        .map((id) => [
          id,
          ...clients.map((c) => shown(find(id, "connect", c))),
          agreement(ofCase(id, "grpc-js")),
          agreement(ofCase(id, "grpcio")),
        ]),
    ),
    "",
  );

  out.push(
    "## HTTP/2 faults (fault peer)",
    "",
    table(
      ["case", ...clients.map(clientName)],
      ids((id) => groupOf(id) === "http2").map((id) => [
        id,
        ...clients.map((c) => {
          const cell = find(id, "fault-peer", c);
          return cell ? codeOf(cell) : "";
        }),
      ]),
    ),
    "",
  );

  out.push(
    "## Behind a proxy (Connect server; every client's median, their range)",
    "",
    table(
      ["case", "codes", "ms"],
      ids((id) => groupOf(id) === "proxy").map((id) => [id, agreement(ofCase(id)), medianRange(ofCase(id))]),
    ),
    "",
  );

  out.push(
    "## The server's view",
    "",
    table(
      ["case", "connect", "grpc-js", "grpcio"],
      ids((id) => groupOf(id) === "server").map((id) => [
        id,
        ...["connect", "grpc-js", "grpcio"].map((server) => {
          const cs = ofCase(id, server);
          return cs.length === 0 ? "" : `${agreement(cs).replace(/^all /, "")} ${medianRange(cs)}`.trim();
        }),
      ]),
    ),
    "",
  );

  // docs/remedies.md: each remedy against each silent fault, over every run of every client and
  // server; gRPC core's client apart (its PINGs ~1 s apart).
  const runsMs = (cs: CellResult[]) => {
    const ms = cs.flatMap((c) => c.runs.flatMap((r) => r.detectMs ?? [])).sort((a, b) => a - b);
    return ms.length === 0 ? "" : `${ms[0]}–${ms[ms.length - 1]} ms`;
  };
  const remedyCases = ids((id) => /^(suspend|blackhole|stall|mute-peer)\+(keepalive|deadline|idle-timeout)$/.test(id));
  out.push(
    "## Remedies (every run of every client and server, from the fault)",
    "",
    table(
      ["case", "codes", "ms", "grpcio client ms"],
      remedyCases.map((id) => {
        const cs = ofCase(id);
        return [
          id,
          agreement(cs),
          runsMs(cs.filter((c) => c.client !== "grpcio")),
          runsMs(cs.filter((c) => c.client === "grpcio")),
        ];
      }),
    ),
    "",
  );

  // A channel's life: connect-node's three protocols in one column where they agree.
  const channel = ids((id) => groupOf(id) === "channel");
  const connectCol = (id: string, server: string) => {
    const cs = clients.filter((c) => c.startsWith("connect/")).map((c) => find(id, server, c));
    const codes = [...new Set(cs.map((c) => (c ? codeOf(c) : "")))];
    if (codes.length === 1) return `${codes[0]} ${medianRange(cs.flatMap((c) => c ?? [])).replace(" ms", "")}`.trim();
    return cs.map((c, i) => `${clients[i].split("/")[1]}: ${shown(c)}`).join("; ");
  };
  out.push(
    "## A channel's life",
    "",
    table(
      ["case", "connect-node", "grpc-js", "grpcio", "grpc-js server", "grpcio server"],
      channel.map((id) => [
        id,
        connectCol(id, "connect"),
        shown(find(id, "connect", "grpc-js/grpc")),
        shown(find(id, "connect", "grpcio/grpc")),
        agreement(ofCase(id, "grpc-js")),
        agreement(ofCase(id, "grpcio")),
      ]),
    ),
    "",
  );
  process.stdout.write(`${out.join("\n")}\n`);
}

runCli("readme-tables", () => main(process.argv.slice(2)));
