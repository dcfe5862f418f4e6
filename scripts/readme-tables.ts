/**
 * The README's and RESULTS.md's tables, from a real run's results.json, so that
 * every figure there comes from a run (and the next run refreshes them):
 *
 *   npm run lab -- --check && npm run readme:tables                 # lab-report/results.json
 *   npm run readme:tables -- other/results.json [first|results]     # one part only
 *
 * Prints markdown to stdout: the run's line (cells, runs, time, versions), the
 * first question for every pair (README), then one table per group (RESULTS.md).
 * Each cell: the code the runs ended with and the median ms to it; where runs
 * disagreed, every code.
 */
import { readFileSync } from "node:fs";
import { firstQuestion, labCases } from "../lab/catalogue/cases.ts";
import { clientStacks, serverStacks } from "../lab/catalogue/stacks.ts";
import type { CellResult, LabResults } from "../lab/reports/results.ts";
import { medianRange, summarizeCell } from "../lab/reports/summary.ts";
import { runCli, UsageError } from "../lib/cli.ts";

/** The stacks that speak several protocols, by the names the tables give them. */
const multiProtocol: Record<string, string> = { connect: "connect-node", "connect-go": "connect-go" };
/** A client stack's column name: "connect-node/grpc", "grpc-js". */
const columnOf = (id: string) => {
  const [client, protocol] = id.split("/");
  return client in multiProtocol ? `${multiProtocol[client]}/${protocol}` : client;
};

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
 * Several cells' codes in a few words: "all ok", or each code with the stacks that
 * ended with it ("connect-node: canceled; connect-go: internal; others: unavailable").
 * `who` names a cell's stack (its client, or its server).
 */
function agreement(cells: CellResult[], who: (c: CellResult) => string = (c) => `${c.client}/${c.protocol}`): string {
  const ran = cells.filter((c) => codeOf(c) !== "n/a");
  if (ran.length === 0) return cells.length > 0 ? "n/a" : "";
  const by = new Map<string, string[]>();
  for (const cell of ran) by.set(codeOf(cell), [...(by.get(codeOf(cell)) ?? []), who(cell)]);
  if (by.size === 1) return `all ${[...by.keys()][0]}`;
  // A multi-protocol stack as one name where all its protocols among these cells agree.
  const names = (ids: string[]) => {
    const out: string[] = [];
    for (const id of ids) {
      const [stack] = id.split("/");
      const all = ran.filter((c) => who(c).split("/")[0] === stack).map(who);
      const merged = stack in multiProtocol && all.every((x) => ids.includes(x));
      out.push(merged ? multiProtocol[stack] : id.includes("/") ? columnOf(id) : id);
    }
    return [...new Set(out)];
  };
  // The largest group last, as "others" when it holds three or more.
  const groups = [...by].sort((a, b) => a[1].length - b[1].length);
  return groups
    .map(([code, ids], i) =>
      i === groups.length - 1 && groups.length > 1 && ids.length >= 3
        ? `others: ${code}`
        : `${names(ids).join(", ")}: ${code}`,
    )
    .join("; ");
}

function main(argv: string[]) {
  const file = argv[0] ?? "lab-report/results.json";
  const part = argv[1];
  if (part !== undefined && part !== "first" && part !== "results") {
    throw new UsageError(`the part is "first" or "results", not "${part}"`);
  }
  let results: LabResults;
  try {
    results = JSON.parse(readFileSync(file, "utf8")) as LabResults;
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const cells = results.cells.filter((c) => c.release === undefined);
  const find = (id: string, server: string, client: string) =>
    cells.find((c) => c.case === id && c.server === server && `${c.client}/${c.protocol}` === client);
  const ofCase = (id: string, server?: string) =>
    cells.filter((c) => c.case === id && (server === undefined || c.server === server));
  const ids = (pred: (id: string) => boolean) => [...new Set(cells.map((c) => c.case))].filter(pred);
  const groupOf = (id: string) => labCases.find((c) => c.id === id)?.group;
  const clients = clientStacks.map((c) => c.id).filter((id) => cells.some((c) => `${c.client}/${c.protocol}` === id));
  const servers = serverStacks
    .filter((s) => !s.peerOnly)
    .map((s) => s.id)
    .filter((id) => cells.some((c) => c.server === id));
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

  if (part !== "results") {
    // The first question, every client against the Connect server; every server in a few words.
    const first = firstQuestion.filter((id) => ofCase(id).length > 0);
    out.push(
      "## The first question: each client against the Connect server",
      "",
      table(
        ["client", ...first],
        clients.map((client) => [columnOf(client), ...first.map((id) => shown(find(id, "connect", client)))]),
      ),
      "",
      "## The first question: every client against each server",
      "",
      table(
        ["server", ...first],
        servers.map((server) => [server, ...first.map((id) => agreement(ofCase(id, server)))]),
      ),
      "",
    );
  }
  if (part === "first") {
    process.stdout.write(`${out.join("\n")}\n`);
    return;
  }

  // Every one-call case: each client against the Connect server, the other servers in a few words.
  const oneCall = ids((id) => ["process", "network", "handler", "health"].includes(groupOf(id) ?? ""));
  const others = servers.filter((s) => s !== "connect");
  out.push(
    "## Against the Connect server (and where the other servers differ)",
    "",
    table(
      ["case", ...clients.map(columnOf), "the other servers"],
      oneCall
        .filter((id) => find(id, "connect", "connect/grpc"))
        .map((id) => {
          const here = agreement(ofCase(id, "connect"));
          const differ = others
            .map((server) => [server, agreement(ofCase(id, server))])
            .filter(([, text]) => text !== "" && text !== here);
          return [
            id,
            ...clients.map((c) => shown(find(id, "connect", c))),
            differ.length === 0 ? "as the Connect server" : differ.map(([s, t]) => `${s}: ${t}`).join(" / "),
          ];
        }),
    ),
    "",
  );

  out.push(
    "## HTTP/2 faults (fault peer)",
    "",
    table(
      ["case", ...clients.map(columnOf)],
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
    "## Behind a proxy (Connect server; every client, the range of their medians)",
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
      ["case", ...servers],
      ids((id) => groupOf(id) === "server").map((id) => [
        id,
        ...servers.map((server) => {
          const cs = ofCase(id, server);
          return cs.length === 0 ? "" : `${agreement(cs).replace(/^all /, "")} ${medianRange(cs)}`.trim();
        }),
      ]),
    ),
    "",
  );

  // docs/remedies.md: each remedy against each silent fault, over every run of every client and
  // server; the clients that keep their PINGs further apart than they are told apart.
  const runsMs = (cs: CellResult[]) => {
    const ms = cs.flatMap((c) => c.runs.flatMap((r) => r.detectMs ?? [])).sort((a, b) => a - b);
    return ms.length === 0 ? "" : `${ms[0]}–${ms[ms.length - 1]} ms`;
  };
  const floored = new Set(clientStacks.filter((c) => c.keepaliveFloorMs !== undefined).map((c) => c.client));
  const remedyCases = ids((id) => /^(suspend|blackhole|stall|mute-peer)\+(keepalive|deadline|idle-timeout)$/.test(id));
  out.push(
    "## Remedies (every run of every client and server, from the fault)",
    "",
    table(
      ["case", "codes", "ms", "gRPC core (PINGs ~1 s apart) ms", "grpc-go, grpc-java (10 s floor) ms"],
      remedyCases.map((id) => {
        const cs = ofCase(id);
        return [
          id,
          agreement(cs),
          runsMs(cs.filter((c) => !floored.has(c.client))),
          runsMs(cs.filter((c) => c.client === "grpcio")),
          runsMs(cs.filter((c) => c.client === "grpc-go" || c.client === "grpc-java")),
        ];
      }),
    ),
    "",
  );

  // A channel's life: the clients that take part against the Connect server; every server in words.
  const channel = ids((id) => groupOf(id) === "channel");
  out.push(
    "## A channel's life (against the Connect server, and every server)",
    "",
    table(
      ["case", ...clients.map(columnOf), "every server"],
      channel.map((id) => [
        id,
        ...clients.map((c) => shown(find(id, "connect", c))),
        agreement(ofCase(id), (c) => c.server),
      ]),
    ),
    "",
  );
  process.stdout.write(`${out.join("\n")}\n`);
}

runCli("readme-tables", () => main(process.argv.slice(2)));
