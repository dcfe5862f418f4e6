import { readdirSync, readFileSync } from "node:fs";
import { procStat } from "../engine/proc-stat.ts";

/** The state letter of a process (R, S, T, Z, ...), or undefined when it is gone. */
export const processState = (pid: number): string | undefined => procStat(pid)?.[0];

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "(gone)";
  }
}

/** Every living descendant of a process, read from /proc. */
export function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = procStat(Number(entry))?.[1];
    // Gone while we looked: no parent to note.
    if (ppid !== undefined) parents.set(Number(entry), Number(ppid));
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}
