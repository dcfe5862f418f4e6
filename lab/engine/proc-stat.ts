import { readdirSync, readFileSync } from "node:fs";

/**
 * The fields of /proc/PID/stat from field 3 (state) on, or undefined when the
 * process is gone or there is no /proc. The command name (field 2) may hold
 * spaces and parentheses, so fields count from its last ")". Index i here is
 * field i + 3 of proc(5): 0 state, 1 ppid, 2 pgrp, 11 utime, 12 stime, 13 cutime,
 * 14 cstime (clock ticks), 19 starttime.
 */
/**
 * Every process below `pid` now (children, their children, ...), from the
 * parent pid of each process in /proc; none where there is no /proc. A
 * process a child started in a group of its own (puppeteer's browser) is
 * found too, while its parent lives.
 */
export function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const byParent = new Map<number, number[]>();
  for (const entry of entries) {
    const parent = Number(procStat(Number(entry))?.[1]);
    if (Number.isNaN(parent)) continue;
    byParent.set(parent, [...(byParent.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = byParent.get(queue.pop() ?? -1) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

export function procStat(pid: number | "self"): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * Every process of the process groups that `pid` or a process below it leads: what a tree's end
 * must reach besides its descendants. A process that left its parent (a daemon's double fork:
 * Chromium's crash handler, a `go run` child whose parent died) has init as its parent, not
 * `pid`, but keeps its group. Groups led by no process of the tree are not touched.
 */
export function treeGroups(pid: number): number[] {
  const leaders = new Set([pid, ...descendants(pid)]);
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  return entries.map(Number).filter((p) => leaders.has(Number(procStat(p)?.[2])) && !leaders.has(p));
}
