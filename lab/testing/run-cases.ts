import { labCases } from "../catalogue/cases.ts";
import type { LabSettings } from "../catalogue/settings.ts";
import { clientStacks, serverStacks } from "../catalogue/stacks.ts";
import { buildEntries } from "../engine/build.ts";
import { runLab } from "../engine/run-lab.ts";
import type { CellResult } from "../reports/results.ts";

export interface RunCasesOptions {
  /** Case ids. */
  cases: readonly string[];
  settings: LabSettings;
  /** Server and client stack ids. Default: all. */
  servers?: readonly string[];
  clients?: readonly string[];
  /** Runs per cell. Default: 1. */
  repeat?: number;
  /** Runs at once. Default: 24. */
  jobs?: number;
  isolate?: boolean;
  tap?: boolean;
  sabotagePeer?: boolean;
}

/** The cells of a set of cases, run through the lab's own engine: for tests. */
export async function runCases(options: RunCasesOptions): Promise<CellResult[]> {
  await buildEntries();
  const unknown = options.cases.filter((id) => !labCases.some((c) => c.id === id));
  if (unknown.length > 0) throw new Error(`no such case: ${unknown.join(", ")}`);
  const outcome = await runLab({
    cases: labCases.filter((c) => options.cases.includes(c.id)),
    servers: serverStacks.filter((s) => !options.servers || options.servers.includes(s.id)),
    clients: clientStacks.filter((c) => !options.clients || options.clients.includes(c.id)),
    repeat: options.repeat ?? 1,
    jobs: options.jobs ?? 24,
    settings: options.settings,
    isolate: options.isolate,
    tap: options.tap,
    sabotagePeer: options.sabotagePeer,
  });
  return outcome.cells;
}

/** The cell of a case for one server and client stack ("" for the server's view, whose cells are the server's). */
export function findCell(cells: readonly CellResult[], id: string, server: string, client: string): CellResult {
  const [stack, protocol = ""] = client.split("/");
  const cell = cells.find((c) => c.case === id && c.server === server && c.client === stack && c.protocol === protocol);
  if (!cell) throw new Error(`no cell ${id} ${server}<-${client}`);
  return cell;
}

/** How the runs of a cell ended, with the message of the first one that is not `ok`, for assertion messages. */
export function describeRuns(cell: CellResult): string {
  const odd = cell.runs.find((r) => r.code === "lab-error") ?? cell.runs.find((r) => r.code !== "ok" && r.message);
  return `${cell.runs.map((r) => r.code).join(", ")}${odd ? ` ("${odd.message}")` : ""}`;
}
