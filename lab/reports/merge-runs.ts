import { readFileSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../lib/cli.ts";
import { labCases } from "../catalogue/cases.ts";
import { browserStacks, clientStacks, releaseStacks, serverStacks } from "../catalogue/stacks.ts";
import type { CellResult, LabResults } from "./results.ts";

/** A shard's results.json, with where it was read from. */
export interface ShardRun {
  dir: string;
  results: LabResults;
}

/** Reads each shard's folder's results.json; a one-line UsageError for one that is not there or not a lab's. */
export function readShardRuns(dirs: readonly string[]): ShardRun[] {
  return dirs.map((dir) => {
    const file = path.join(dir, "results.json");
    try {
      const results = JSON.parse(readFileSync(file, "utf8")) as LabResults;
      if (!Array.isArray(results.cells) || !results.meta) throw new Error("not a lab results.json");
      return { dir, results };
    } catch (e) {
      throw new UsageError(`--merge: cannot read ${file}: ${(e as Error).message.split("\n")[0]}`);
    }
  });
}

/** What must be the same in every shard, with its name for the refusal. Jobs and machines may differ. */
function identity(r: LabResults): [string, unknown][] {
  const { jobs: _jobs, ...settings } = r.meta.settings;
  return [
    ["commit", r.meta.commit],
    ["settings", settings],
    ["profile", r.meta.profile],
    ["versions", r.meta.versions],
    ["selection of cases and stacks", r.meta.selection],
    ["TLS", r.meta.tls ?? false],
    ["mode", r.meta.mode],
    ["tap", r.meta.tap],
  ];
}

/** The order cells take in a report: the catalogue's cases, then servers, then clients. */
function cellOrder(): (a: CellResult, b: CellResult) => number {
  const caseIndex = new Map(labCases.map((c, i) => [c.id, i]));
  const serverIndex = new Map(serverStacks.map((s, i) => [s.id, i]));
  const clients = [...clientStacks, ...releaseStacks(), ...browserStacks];
  const clientIndex = (c: CellResult) => {
    const i = clients.findIndex((s) => s.id === `${c.client}/${c.protocol}`);
    return i < 0 ? clients.length : i;
  };
  return (a, b) =>
    (caseIndex.get(a.case) ?? 0) - (caseIndex.get(b.case) ?? 0) ||
    (serverIndex.get(a.server) ?? 0) - (serverIndex.get(b.server) ?? 0) ||
    clientIndex(a) - clientIndex(b);
}

/**
 * One run out of its shards (issue 29): every shard of one plan, each once, on the same commit,
 * settings, profile and versions; a one-line UsageError naming the first difference otherwise.
 * The merged run has every cell exactly once, in report order; its wall time is the longest
 * shard's (they ran side by side), its CPU the shards' together.
 */
export function mergeShards(parts: readonly ShardRun[]): LabResults {
  if (parts.length === 0) throw new UsageError("--merge needs the folders of the shards' runs");
  for (const p of parts) {
    if (!p.results.meta.shard) throw new UsageError(`--merge: ${p.dir} is not a shard's run (it ran without --shard)`);
  }
  const count = parts[0].results.meta.shard?.count ?? 0;
  const first = identity(parts[0].results);
  for (const p of parts.slice(1)) {
    const shard = p.results.meta.shard;
    if (shard?.count !== count) {
      throw new UsageError(`--merge: ${p.dir} is shard ${shard?.index}/${shard?.count}, ${parts[0].dir} of ${count}`);
    }
    for (const [i, [name, value]] of identity(p.results).entries()) {
      if (JSON.stringify(value) !== JSON.stringify(first[i][1])) {
        throw new UsageError(
          `--merge: ${p.dir} and ${parts[0].dir} differ in their ${name}: one run of one plan, please`,
        );
      }
    }
  }
  const seen = new Map<number, string>();
  for (const p of parts) {
    const index = p.results.meta.shard?.index ?? 0;
    const other = seen.get(index);
    if (other) throw new UsageError(`--merge: shard ${index}/${count} twice (${other} and ${p.dir})`);
    seen.set(index, p.dir);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length > 0)
    throw new UsageError(`--merge: shard(s) ${missing.map((i) => `${i}/${count}`).join(", ")} missing`);
  const cells = parts.flatMap((p) => p.results.cells);
  const keys = new Set<string>();
  for (const c of cells) {
    const key = `${c.case} ${c.server} ${c.client}/${c.protocol}`;
    if (keys.has(key)) throw new UsageError(`--merge: the cell ${key} is in two shards: they were not planned alike`);
    keys.add(key);
  }
  const metas = parts.map((p) => p.results.meta);
  const sum = (f: (m: LabResults["meta"]) => number) => metas.reduce((n, m) => n + f(m), 0);
  const childCpu: Record<string, { ms: number; processes: number }> = {};
  for (const m of metas) {
    for (const [k, v] of Object.entries(m.childCpu ?? {})) {
      const t = childCpu[k] ?? { ms: 0, processes: 0 };
      childCpu[k] = { ms: t.ms + v.ms, processes: t.processes + v.processes };
    }
  }
  const { shard: _shard, ...base } = parts[0].results.meta;
  return {
    meta: {
      ...base,
      startedAt: metas.map((m) => m.startedAt).sort()[0],
      wallMs: Math.max(...metas.map((m) => m.wallMs)),
      cpu: metas.every((m) => m.cpu)
        ? { labMs: sum((m) => m.cpu?.labMs ?? 0), childrenMs: sum((m) => m.cpu?.childrenMs ?? 0) }
        : null,
      childCpu,
      processes: sum((m) => m.processes),
      agents: metas.flatMap((m) => m.agents),
      labEventLoopDelayMs: {
        p50: Math.max(...metas.map((m) => m.labEventLoopDelayMs.p50)),
        p99: Math.max(...metas.map((m) => m.labEventLoopDelayMs.p99)),
        max: Math.max(...metas.map((m) => m.labEventLoopDelayMs.max)),
      },
      merged: parts
        .map((p) => ({
          shard: p.results.meta.shard?.index ?? 0,
          dir: p.dir,
          startedAt: p.results.meta.startedAt,
          wallMs: p.results.meta.wallMs,
          cells: p.results.cells.length,
          runs: p.results.cells.reduce((n, c) => n + c.runs.length, 0),
          cpuMs: p.results.meta.cpu ? p.results.meta.cpu.labMs + p.results.meta.cpu.childrenMs : null,
        }))
        .sort((a, b) => a.shard - b.shard),
    },
    cells: cells.sort(cellOrder()),
  };
}
