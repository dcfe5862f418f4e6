import { allowedOutcomes, type LabCase, type LabSettings, matchingDepartures } from "../catalogue/cases.ts";
import { type ClientStack, type ServerStack, stackPairs } from "../catalogue/stacks.ts";
import type { CellResult } from "../reports/results.ts";
import { runCell } from "./run-cell.ts";

export interface LabPlan {
  cases: readonly LabCase[];
  /** The servers and clients chosen; each case pairs them up with stackPairs. */
  servers: readonly ServerStack[];
  clients: readonly ClientStack[];
  /** Runs per cell. */
  repeat: number;
  /** Runs going on at once. */
  jobs: number;
  settings: LabSettings;
}

export interface RunLabOptions {
  /** Called after each run with the runs done and the total. */
  onRun?: (done: number, total: number, cell: CellResult) => void;
  /** Stops handing out new runs when aborted (runs under way still end cleanly). */
  signal?: AbortSignal;
}

/**
 * Runs every cell of the plan `repeat` times, `jobs` runs at a time, longest
 * first so the last minutes are not spent waiting for one slow hang case.
 */
export async function runLab(plan: LabPlan, options: RunLabOptions = {}): Promise<CellResult[]> {
  const cells: { labCase: LabCase; server: ServerStack; client: ClientStack; result: CellResult }[] = [];
  for (const labCase of plan.cases) {
    for (const { server, client } of stackPairs(plan.servers, plan.clients, labCase.peer)) {
      const where = { server: server.id, client: client.client, protocol: client.protocol };
      cells.push({
        labCase,
        server,
        client,
        result: {
          case: labCase.id,
          ...where,
          expected: {
            rule: labCase.expect.rule,
            cite: labCase.expect.cite,
            allowed: allowedOutcomes(labCase.expect, where),
            departures: matchingDepartures(labCase.expect, where).map(({ codes, why }) => ({ codes, why })),
          },
          runs: [],
        },
      });
    }
  }
  const queue = Array.from({ length: plan.repeat }, () => cells)
    .flat()
    .sort((a, b) => estimateMs(b.labCase, plan.settings) - estimateMs(a.labCase, plan.settings));
  const total = queue.length;
  let done = 0;
  const worker = async () => {
    for (let next = queue.shift(); next && !options.signal?.aborted; next = queue.shift()) {
      const cell = next;
      const run = await runCell({
        labCase: cell.labCase,
        server: cell.server,
        client: cell.client,
        settings: plan.settings,
      }).catch((e: unknown) => ({
        code: "lab-error",
        message: e instanceof Error ? e.message : String(e),
        received: 0,
        messages: [],
        detectMs: null,
        hung: false,
        exitMs: null,
        call: null,
        timeline: { messagesMs: [], faults: [], endMs: 0 },
      }));
      if (options.signal?.aborted) return;
      cell.result.runs.push(run);
      options.onRun?.(++done, total, cell.result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, plan.jobs) }, worker));
  return cells.map((cell) => cell.result);
}

/** A rough length of one run, for ordering: hangs wait for the watchdog, full streams for every message. */
export function estimateMs(labCase: LabCase, s: LabSettings): number {
  if (labCase.expect.rule.includes("hang")) return s.intervalMs + s.watchdogMs;
  if (labCase.fault?.some((step) => step.kind === "restart"))
    return s.intervalMs + s.restartGapMs + s.intervalMs * s.count;
  if (!labCase.fault || labCase.expect.rule.includes("ok")) return s.intervalMs * s.count;
  return 2 * s.intervalMs;
}
