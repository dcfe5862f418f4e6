import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { installReleases } from "../../scripts/install-releases.ts";
import { labCases } from "../catalogue/cases.ts";
import type { Profile } from "../catalogue/profiles.ts";
import { releases } from "../catalogue/releases.ts";
import type { LabSettings } from "../catalogue/settings.ts";
import { browserStacks, releaseStacks } from "../catalogue/stacks.ts";
import { buildEntries, buildReleaseEntries } from "../engine/build.ts";
import { createLabTls } from "../engine/lab-tls.ts";
import { runLab } from "../engine/run-lab.ts";
import type { CellResult, LabResults } from "../reports/results.ts";
import { libraryVersions } from "../reports/versions.ts";
import { labErrorLines, writeReports } from "../reports/write-reports.ts";
import { readyClients, readyServers } from "./stacks.ts";

export interface RunCasesOptions {
  /** Case ids. */
  cases: readonly string[];
  settings: LabSettings;
  /**
   * Server and client stack ids (a client's id names its protocols: "connect" is every connect/...).
   * Default: the Node stacks and gRPC core (testStacks); each stack in another language has tests of
   * its own (peers/peers.test.ts), that name it. A stack that is not here (its toolchain) is left out.
   */
  servers?: readonly string[];
  clients?: readonly string[];
  /** Runs per cell. Default: 1. */
  repeat?: number;
  /** Runs at once. Default: 24. */
  jobs?: number;
  isolate?: boolean;
  tap?: boolean;
  sabotagePeer?: boolean;
  /** The stacks' settings (issue 18). Default: the lab's. */
  profile?: Profile;
  /** Every hop over TLS (--tls, issue 19), with a CA made for this run. Default: false. */
  tls?: boolean;
  /** Also the browser stacks (--browsers), chosen by `clients` ids like any; over TLS. Default: false. */
  browsers?: boolean;
  /** Also the releases of the --versions matrix (installed first), chosen by `clients` ids like any. Default: false. */
  releases?: boolean;
  /**
   * Keep the reports of a run with lab errors (issue 22: a red test names
   * why and where to look). Default: true; off for tests whose runs are
   * meant to be lab errors (the sabotaged fault peer).
   */
  keepOnLabError?: boolean;
}

/**
 * The stacks a test runs unless it names others: the project's own Node stacks
 * and gRPC core, the matrix the tests were written against. Seven servers and
 * eleven clients in every test would not fit the suite's 8 minutes.
 */
export const testStacks = {
  servers: ["connect", "grpc-js", "grpcio", "fault-peer"],
  clients: ["connect/grpc", "connect/connect", "connect/grpc-web", "grpc-js/grpc", "grpcio/grpc"],
};

/** Cells a test's run gives a second, calmer try together (see runCases); more: the machine is broken. */
const maxCalmerTries = 4;

/** Where a run's reports were kept, by its cells: describeRuns names it. */
const keptAt = new WeakMap<CellResult, string>();

/**
 * The cells of a set of cases, run through the lab's own engine: for tests.
 * A run with a lab error writes its reports (results.json, report.html,
 * report.md) to a folder of its own under the temporary directory, which
 * stays after the test, and says where on stderr.
 */
export async function runCases(options: RunCasesOptions): Promise<CellResult[]> {
  await buildEntries();
  if (options.releases) {
    installReleases();
    await buildReleaseEntries(releases);
  }
  const stacks = [
    ...(await readyClients()),
    ...(options.releases ? releaseStacks() : []),
    ...(options.browsers ? browserStacks : []),
  ];
  const servers = options.servers ?? testStacks.servers;
  const clients = options.clients ?? [
    ...testStacks.clients,
    ...(options.releases ? releaseStacks().map((c) => c.id) : []),
    ...(options.browsers ? browserStacks.map((c) => c.id) : []),
  ];
  const named = (id: string, ids: readonly string[]) => ids.some((w) => id === w || id.startsWith(`${w}/`));
  const tls =
    options.tls || options.browsers ? createLabTls(mkdtempSync(path.join(tmpdir(), "lab-test-tls-"))) : undefined;
  const unknown = options.cases.filter((id) => !labCases.some((c) => c.id === id));
  if (unknown.length > 0) throw new Error(`no such case: ${unknown.join(", ")}`);
  const startedAt = new Date();
  const start = performance.now();
  const repeat = options.repeat ?? 1;
  const jobs = options.jobs ?? 24;
  const ready = await readyServers();
  const run = (cases: readonly string[], serverIds: readonly string[], clientIds: readonly string[], j: number) =>
    runLab({
      cases: labCases.filter((c) => cases.includes(c.id)),
      servers: ready.filter((s) => named(s.id, serverIds)),
      clients: stacks.filter((c) => named(c.id, clientIds)),
      repeat,
      jobs: j,
      settings: options.settings,
      isolate: options.isolate,
      tap: options.tap,
      sabotagePeer: options.sabotagePeer,
      profile: options.profile,
      tls,
    });
  const outcome = await run(options.cases, servers, clients, jobs);
  // A cell whose every try the lab judged mistimed ("the machine is too busy": retried, then kept
  // as a lab error) ran while the suite's other files loaded the machine: such cells get one more
  // run together, a few at a time, where there are few of them (more: the machine is broken, and
  // the test says so). Any other lab error stands, and so does one that recurs.
  const busy = outcome.cells.filter(
    (cell) => cell.client !== "" && cell.runs.some((r) => r.code === "lab-error" && r.retried !== undefined),
  );
  if (busy.length > 0 && busy.length <= maxCalmerTries) {
    const again = await run(
      [...new Set(busy.map((c) => c.case))],
      [...new Set(busy.map((c) => c.server))],
      [...new Set(busy.map((c) => `${c.client}/${c.protocol}`))],
      4,
    );
    for (const cell of busy) {
      const same = again.cells.find(
        (c) =>
          c.case === cell.case && c.server === cell.server && c.client === cell.client && c.protocol === cell.protocol,
      );
      if (!same) continue;
      process.stderr.write(
        `a test's cell run again on a calmer machine: ${cell.case} ${cell.server}<-${cell.client}/${cell.protocol}: ${same.runs.map((r) => r.code).join(", ")}\n`,
      );
      outcome.cells[outcome.cells.indexOf(cell)] = same;
    }
  }
  const errors = labErrorLines(outcome.cells);
  if (errors.length > 0 && options.keepOnLabError !== false) {
    const dir = mkdtempSync(path.join(tmpdir(), "lab-test-kept-"));
    const results: LabResults = {
      meta: {
        startedAt: startedAt.toISOString(),
        node: process.version,
        versions: libraryVersions(),
        settings: { ...options.settings, repeat, jobs, quick: false },
        mode: options.isolate ? "isolate" : "agents",
        tap: options.tap ?? true,
        wallMs: Math.round(performance.now() - start),
        cpu: null,
        processes: 0,
        agents: outcome.agents,
        labEventLoopDelayMs: { p50: 0, p99: 0, max: 0 },
      },
      cells: outcome.cells,
    };
    await writeReports(dir, results);
    for (const cell of outcome.cells) keptAt.set(cell, dir);
    process.stderr.write(
      `lab errors in a test's run (reports kept in ${dir}):\n${errors.map((e) => `  ${e}`).join("\n")}\n`,
    );
  }
  return outcome.cells;
}

/** The cell of a case for one server and client stack ("" for the server's view, whose cells are the server's). */
export function findCell(cells: readonly CellResult[], id: string, server: string, client: string): CellResult {
  const [stack, protocol = ""] = client.split("/");
  const cell = cells.find((c) => c.case === id && c.server === server && c.client === stack && c.protocol === protocol);
  if (!cell) throw new Error(`no cell ${id} ${server}<-${client}`);
  return cell;
}

/**
 * How the runs of a cell ended, for assertion messages: the codes, every
 * lab error's reason (where the run's reports were kept), or the message of
 * the first run that is not `ok`.
 */
export function describeRuns(cell: CellResult): string {
  const codes = cell.runs.map((r) => r.code).join(", ");
  const errors = cell.runs.filter((r) => r.code === "lab-error").map((r) => `"${r.message}"`);
  if (errors.length > 0) {
    const kept = keptAt.get(cell);
    return `${codes} (lab error: ${errors.join("; ")}${kept ? `; reports kept in ${kept}` : ""})`;
  }
  const odd = cell.runs.find((r) => r.code !== "ok" && r.message);
  return `${codes}${odd ? ` ("${odd.message}")` : ""}`;
}
