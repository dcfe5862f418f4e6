import { UsageError } from "../../lib/cli.ts";
import { labCases } from "../catalogue/cases.ts";
import { readProfile } from "../catalogue/profiles.ts";
import { defaultSettings, type LabSettings } from "../catalogue/settings.ts";
import { clientStacks, serverStacks } from "../catalogue/stacks.ts";
import { type CellPlan, estimateMs, planCells, watchesManyCalls } from "./plan.ts";

/** The full matrix's cells as `--full` plans them: every case, every pair, the default timings, 3 runs each. */
export function fullMatrixPlan(): CellPlan[] {
  return planCells({
    cases: labCases,
    servers: serverStacks,
    clients: clientStacks,
    repeat: 3,
    settings: defaultSettings,
    isolate: false,
    profile: readProfile("lab", defaultSettings),
    peerArgs: [],
    tap: true,
  });
}

/** One machine's share of a run: shard `index` of `count`, from 1. */
export interface Shard {
  index: number;
  count: number;
}

/** `--shard K/N`: a one-line UsageError unless 1 <= K <= N. */
export function readShard(raw: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || count > 1000 || index < 1 || index > count) {
    throw new UsageError(`--shard must be K/N with 1 <= K <= N <= 1000, e.g. 2/4, got "${raw}"`);
  }
  return { index, count };
}

/**
 * The cells of one shard (issue 29). The unit of a share is a case against one server, with all
 * its clients: the runs that may watch one server together (plan.ts: one fault, many observers)
 * stay on one machine. Units go, longest first by their estimated run time (each cell's runs, a
 * keepalive floor's wait included), to the shard with the least so far: every shard gets about
 * the same time, not the same count, and the same plan on any machine gets the same shares.
 */
export function shardCells(cells: readonly CellPlan[], shard: Shard, s: LabSettings, repeat: number): CellPlan[] {
  if (shard.count === 1) return [...cells];
  const units = new Map<string, CellPlan[]>();
  for (const cell of cells) {
    const key = `${cell.labCase.id} ${cell.server.id}`;
    units.set(key, [...(units.get(key) ?? []), cell]);
  }
  const weigh = (unit: CellPlan[]) => unit.reduce((ms, c) => ms + Math.max(1, cellLoadMs(c, s, repeat)), 0);
  // Longest first, ties by key: the same order on every machine.
  const ordered = [...units.entries()]
    .map(([key, unit]) => ({ key, unit, ms: weigh(unit) }))
    .sort((a, b) => b.ms - a.ms || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const load = Array.from({ length: shard.count }, () => 0);
  const mine = new Set<CellPlan>();
  for (const { unit, ms } of ordered) {
    let least = 0;
    for (let i = 1; i < load.length; i++) if (load[i] < load[least]) least = i;
    load[least] += ms;
    if (least === shard.index - 1) for (const cell of unit) mine.add(cell);
  }
  // Report order, as the catalogue has it.
  return cells.filter((cell) => mine.has(cell));
}

/**
 * A cell's estimated run time: each of its runs' estimate, 0 for n/a. A channel scenario that
 * watches many calls runs once whatever `repeat` says (plan.ts planScenes): counted three times,
 * the full matrix's channel group weighed 16,369 s where its runs took 9,960 s by the same
 * estimates (a --full run, 2026-12-05), and the 1-machine figure overshot the measured run by 28%.
 */
function cellLoadMs(c: CellPlan, s: LabSettings, repeat: number): number {
  if (c.result.expected.rule[0] === "n/a") return 0;
  return (watchesManyCalls(c.labCase) ? 1 : repeat) * estimateMs(c.labCase, s, c.client);
}

/** Each shard's estimated run time (ms of runs, not wall time): for the bench's machines figure. */
export function shardLoads(cells: readonly CellPlan[], count: number, s: LabSettings, repeat: number): number[] {
  return Array.from({ length: count }, (_, i) =>
    shardCells(cells, { index: i + 1, count }, s, repeat).reduce((ms, c) => ms + cellLoadMs(c, s, repeat), 0),
  );
}
