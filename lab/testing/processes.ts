import { readdirSync, readFileSync, readlinkSync } from "node:fs";
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

/** Every living descendant of a process, read from /proc (the engine's, lab/engine/proc-stat.ts). */
export { descendants } from "../engine/proc-stat.ts";

/**
 * How many established TCP connections a process holds: its socket descriptors (/proc/PID/fd)
 * matched against the kernel's connection table (/proc/PID/net/tcp and tcp6, state 01). Read from
 * the kernel, so that a test learns a client has a call on the wire from something the lab's code
 * does not say.
 */
export function establishedTcp(pid: number): number {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => {
          try {
            return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
          } catch {
            return undefined;
          }
        })
        .filter((inode): inode is string => inode !== undefined),
    );
  } catch {
    return 0;
  }
  let count = 0;
  for (const table of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
      if (fields[3] === "01" && inodes.has(fields[9])) count++;
    }
  }
  return count;
}
