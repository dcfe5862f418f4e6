import { readFileSync } from "node:fs";

/**
 * The fields of /proc/PID/stat from field 3 (state) on, or undefined when the
 * process is gone or there is no /proc. The command name (field 2) may hold
 * spaces and parentheses, so fields count from its last ")". Index i here is
 * field i + 3 of proc(5): 0 state, 1 ppid, 11 utime, 12 stime, 13 cutime,
 * 14 cstime (clock ticks), 19 starttime.
 */
export function procStat(pid: number | "self"): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}
