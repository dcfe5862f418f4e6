import type { LabCase } from "../catalogue/cases.ts";
import type { CellResult } from "./results.ts";
import { cellName, medianRange, summarizeCell } from "./summary.ts";

/**
 * What a run found, in sentences, each with the cases it rests on (issue 20):
 * drawn from the results and the catalogue's rules and departures, never
 * written for one run, so that the README's findings can be checked against
 * a real run's list.
 */
export interface Finding {
  /**
   * hang: a fault no client hears without a remedy, and which remedies end it;
   * departure: stacks that end a case outside the gRPC rules, with the reason;
   * proxy: a case whose outcome a proxy changes; crash: a client process that died;
   * lab-error: runs that prove nothing; knob: what each value of one library
   * option makes of a case (issue 18); release: a case whose outcome changed
   * between releases of a library (--versions, issue 18).
   */
  kind: "hang" | "departure" | "proxy" | "crash" | "lab-error" | "knob" | "release";
  /** One sentence. */
  text: string;
  /** The cases it rests on: their timelines are the evidence (anchors in report.html). */
  cases: string[];
}

/** The client stacks that speak several protocols, by the name reports give them. */
const multiProtocol: Record<string, string> = { connect: "connect-node", "connect-go": "connect-go" };

/** "connect-node/grpc", "connect-go/connect", "grpc-js": a cell's client, its protocol where it has several. */
const clientLabel = (cell: CellResult) =>
  cell.client in multiProtocol ? `${multiProtocol[cell.client]}/${cell.protocol}` : cell.client;

/** A list of names in words: "a", "a and b", "a, b and c". */
function words(items: readonly string[]): string {
  const unique = [...new Set(items)];
  return unique.length <= 1 ? (unique[0] ?? "") : `${unique.slice(0, -1).join(", ")} and ${unique[unique.length - 1]}`;
}

/**
 * Which stacks ended how, exactly: "connect-node canceled, grpc-js internal (against grpc-js)";
 * a server named only where the servers differ; connect-node's protocols as one where they agree.
 */
function describe(cells: readonly CellResult[], caseCells: readonly CellResult[]): string {
  const segment = (group: readonly CellResult[]) => {
    const byCode = new Map<string, string[]>();
    for (const cell of group) {
      const code = summarizeCell(cell).outcome;
      byCode.set(code, [
        ...(byCode.get(code) ?? []),
        cell.client === "" ? `the ${cell.server} server` : clientLabel(cell),
      ]);
    }
    // A multi-protocol stack's protocols that ran against this server (the gRPC-only servers serve one).
    const here = new Set(group.map((c) => c.server));
    const protocolsOf = (client: string) =>
      new Set(caseCells.filter((c) => c.client === client && here.has(c.server)).map((c) => c.protocol));
    return [...byCode]
      .map(([code, labels]) => {
        let merged = labels;
        for (const [client, name] of Object.entries(multiProtocol)) {
          const own = merged.filter((l) => l.startsWith(`${name}/`));
          if (own.length > 0 && own.length === protocolsOf(client).size)
            merged = [name, ...merged.filter((l) => !l.startsWith(`${name}/`))];
        }
        return `${words(merged)} ${code}`;
      })
      .join(", ");
  };
  const servers = [...new Set(cells.map((c) => c.server))];
  const allServers = [...new Set(caseCells.map((c) => c.server))];
  const texts = servers.map((server) => segment(cells.filter((c) => c.server === server)));
  if (cells.every((c) => c.client === "") || allServers.length === 1) return texts.join(", ");
  if (servers.length === allServers.length && new Set(texts).size === 1) return `${texts[0]} (every server)`;
  const byText = new Map<string, string[]>();
  for (const [i, server] of servers.entries()) byText.set(texts[i], [...(byText.get(texts[i]) ?? []), server]);
  return [...byText].map(([text, where]) => `${text} (against ${words(where)})`).join("; ");
}

export function findFindings(
  allCells: readonly CellResult[],
  catalogue: readonly LabCase[],
  versions: Record<string, string> = {},
): Finding[] {
  // The rules' findings read the project's own releases with the run's settings: the knob group
  // and the release matrix have findings of their own below.
  const knobCase = new Set(catalogue.filter((c) => c.knob).map((c) => c.id));
  const cells = allCells.filter((c) => c.release === undefined && !knobCase.has(c.case));
  const byCase = new Map<string, CellResult[]>();
  for (const cell of cells) byCase.set(cell.case, [...(byCase.get(cell.case) ?? []), cell]);
  const byCaseAll = new Map<string, CellResult[]>();
  for (const cell of allCells) byCaseAll.set(cell.case, [...(byCaseAll.get(cell.case) ?? []), cell]);
  const found: Finding[] = [...knobFindings(allCells, catalogue), ...releaseFindings(allCells, versions)];
  const ran = (c: CellResult) => c.runs.some((r) => r.code !== "n/a");

  // Faults nobody hears without a remedy, and which of the catalogue's remedies end them.
  for (const [id, caseCells] of byCase) {
    if (id.includes("+")) continue;
    const applicable = caseCells.filter(ran);
    const hung = applicable.filter((c) => summarizeCell(c).main === "hang");
    if (hung.length === 0 || hung.length < applicable.length / 2) continue;
    const remedies = [...byCase].filter(([other]) => other.startsWith(`${id}+`));
    const ended = remedies.flatMap(([other, remedyCells]) => {
      const mine = remedyCells.filter(ran);
      const ok = mine.filter((c) => !summarizeCell(c).outcome.includes("hang"));
      if (ok.length === 0) return [`${other.slice(id.length + 1)}: none`];
      const ms = medianRange(ok);
      const all = ok.length === mine.length;
      const codes = words(ok.map((c) => summarizeCell(c).main));
      const everyOne = mine.every((c) => c.client === "") ? "every server" : "every client";
      return [
        `${other.slice(id.length + 1)}: ${all ? everyOne : `${ok.length} of ${mine.length} cells`}, ${codes}${ms ? ` (${ms})` : ""}`,
      ];
    });
    const every = hung.length === applicable.length;
    // The server's view: it is the handler that waits.
    const who = applicable.every((c) => c.client === "") ? "every server's handler" : "every client";
    found.push({
      kind: "hang",
      text: `${id}: ${every ? `${who} waits` : `${hung.length} of ${applicable.length} cells wait`} for good without a remedy${
        ended.length > 0 ? `; what ended it: ${ended.join("; ")}` : ""
      }.`,
      cases: [id, ...remedies.map(([other]) => other)],
    });
  }

  // Departures from the rules: one finding per case, its stacks grouped by code, each reason once.
  for (const [id, caseCells] of byCase) {
    const departing = caseCells.filter((c) => summarizeCell(c).departs && summarizeCell(c).main !== "lab-error");
    if (departing.length === 0) continue;
    const ended = describe(departing, caseCells);
    const why = [...new Set(departing.flatMap((c) => c.expected.departures.map((d) => d.why)))];
    found.push({
      kind: "departure",
      text: `${id}: ${ended}, where the rule calls for ${words(departing[0].expected.rule)}. Why: ${why.join(" ") || "no known reason: look into it."}`,
      cases: [id],
    });
  }

  // A proxy that changes the outcome of a case run directly.
  for (const [id, caseCells] of byCase) {
    const slash = id.indexOf("/");
    if (slash < 0) continue;
    const direct = byCase.get(id.slice(slash + 1));
    if (!direct) continue;
    const main = (cs: readonly CellResult[]) => words(cs.filter(ran).map((c) => summarizeCell(c).main));
    const [through, without] = [main(caseCells), main(direct.filter((c) => c.server === caseCells[0]?.server))];
    if (through === without || !through || !without) continue;
    found.push({
      kind: "proxy",
      text: `${id}: behind ${id.slice(0, slash)} the clients end ${through}; straight to the server, ${without}.`,
      cases: [id, id.slice(slash + 1)],
    });
  }

  // A client process that died, and runs that prove nothing: every cell's, releases' and knobs' too.
  for (const [id, caseCells] of byCaseAll) {
    const crashed = caseCells.filter((c) => c.runs.some((r) => r.code === "crashed"));
    if (crashed.length > 0) {
      const how = words(crashed.flatMap((c) => c.runs.filter((r) => r.code === "crashed").map((r) => r.message)));
      found.push({ kind: "crash", text: `${id}: ${describe(crashed, caseCells)}: ${how}.`, cases: [id] });
    }
    const broken = caseCells.filter((c) => c.runs.some((r) => r.code === "lab-error"));
    if (broken.length > 0) {
      const why = words(broken.flatMap((c) => c.runs.filter((r) => r.code === "lab-error").map((r) => r.message)));
      found.push({
        kind: "lab-error",
        text: `${id}: ${broken.map(cellName).join(", ")}: lab error, the run proves nothing (${why}).`,
        cases: [id],
      });
    }
  }
  // Catalogue order within each kind, so that two runs' lists read alike.
  const order = new Map(catalogue.map((c, i) => [c.id, i]));
  const kinds: Finding["kind"][] = ["crash", "hang", "departure", "proxy", "knob", "release", "lab-error"];
  return found.sort(
    (a, b) =>
      kinds.indexOf(a.kind) - kinds.indexOf(b.kind) || (order.get(a.cases[0]) ?? 0) - (order.get(b.cases[0]) ?? 0),
  );
}

/** Headings of the findings' kinds, in the order the reports show them. */
export const findingTitles: Record<Finding["kind"], string> = {
  crash: "Clients that crashed",
  hang: "Faults no client hears without a remedy, and what ended them",
  departure: "Departures from the gRPC rules",
  proxy: "What a proxy changes",
  knob: "What one option does (each library as shipped, one option set)",
  release: "Where an outcome changed between releases",
  "lab-error": "Runs that prove nothing (lab errors)",
};

/** A cell's outcome in a few words: its code(s) and median time. */
const briefly = (cell: CellResult) => {
  const s = summarizeCell(cell);
  return `${s.outcome}${s.detectMs !== null && s.main !== "hang" ? ` ${s.detectMs} ms` : ""}`;
};

/** One finding per knob (a case and an option, issue 18): each value, and what each client made of it. */
function knobFindings(cells: readonly CellResult[], catalogue: readonly LabCase[]): Finding[] {
  const byKnob = new Map<string, { values: LabCase[]; option: string; base: string }>();
  for (const c of catalogue) {
    if (!c.knob) continue;
    const base = c.id.slice(0, c.id.indexOf("@"));
    const key = `${base}@${c.knob.section}:${c.knob.option}`;
    const entry = byKnob.get(key) ?? { values: [], option: c.knob.option, base };
    entry.values.push(c);
    byKnob.set(key, entry);
  }
  return [...byKnob.values()].flatMap(({ values, option, base }) => {
    const per = values.map((c) => {
      const mine = cells.filter((cell) => cell.case === c.id && cell.release === undefined);
      const by = [...new Set(mine.map(briefly))];
      const text =
        by.length === 1 && mine.length > 0
          ? by[0]
          : mine.map((cell) => `${cellName(cell)} ${briefly(cell)}`).join(", ");
      return { c, mine, text };
    });
    if (per.every((p) => p.mine.length === 0)) return [];
    const changes = new Set(per.map((p) => p.mine.map((cell) => summarizeCell(cell).main).join())).size > 1;
    const who = [...new Set(per.flatMap((p) => p.mine.map(cellName)))];
    return [
      {
        kind: "knob" as const,
        text: `${base}, ${option} (${who.join(", ")}): ${per
          .map((p) => `${JSON.stringify(p.c.knob?.value)}: ${p.text}`)
          .join("; ")}${changes ? "" : " (no change)"}.`,
        cases: values.map((c) => c.id),
      },
    ];
  });
}

/**
 * The release matrix (--versions, issue 18): per case, server and protocol, the
 * releases of one library whose outcomes differ (by the set of codes their
 * runs ended with).
 */
function releaseFindings(cells: readonly CellResult[], versions: Record<string, string>): Finding[] {
  const released = cells.filter((c) => c.release !== undefined);
  if (released.length === 0) return [];
  const library = (client: string) => client.split("@")[0];
  const own: Record<string, string | undefined> = {
    "grpc-js": versions["@grpc/grpc-js"],
    connect: versions["@connectrpc/connect-node"],
  };
  const groups = new Map<string, CellResult[]>();
  for (const cell of cells) {
    if (!cell.client || !(library(cell.client) in own)) continue;
    const key = [cell.case, cell.server, library(cell.client), cell.protocol].join("|");
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  const codes = (cell: CellResult) => [...new Set(cell.runs.map((r) => r.code))].sort().join("+");
  const found: Finding[] = [];
  for (const group of groups.values()) {
    if (group.length < 2 || !group.some((c) => c.release !== undefined)) continue;
    // A change is where each release's runs agreed among themselves: a race is not a release's doing.
    if (group.some((c) => c.runs.some((r) => r.code === "lab-error") || summarizeCell(c).racy)) continue;
    if (new Set(group.map(codes)).size < 2) continue;
    const version = (c: CellResult) => c.release ?? `${own[library(c.client)] ?? "?"} (the project's)`;
    const sorted = [...group].sort((a, b) => version(a).localeCompare(version(b), undefined, { numeric: true }));
    const [first] = sorted;
    found.push({
      kind: "release",
      text: `${first.case} against ${first.server}, ${library(first.client)}/${first.protocol}: ${sorted
        .map((c) => `${version(c)} ${briefly(c)}`)
        .join("; ")}.`,
      cases: [first.case],
    });
  }
  return found;
}

/** The findings as markdown: a heading per kind, a line per finding. */
export function findingsMarkdown(findings: readonly Finding[]): string {
  const out: string[] = [];
  for (const kind of Object.keys(findingTitles) as Finding["kind"][]) {
    const mine = findings.filter((f) => f.kind === kind);
    if (mine.length === 0) continue;
    out.push(`### ${findingTitles[kind]}`, "", ...mine.map((f) => `- ${f.text}`), "");
  }
  return out.join("\n");
}
