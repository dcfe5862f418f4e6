import { readFileSync } from "node:fs";
import { tcpSockets } from "../engine/proc-sockets.ts";
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

/** How many established TCP connections a process holds, read from the kernel (lab/engine/proc-sockets.ts). */
export const establishedTcp = (pid: number): number => tcpSockets([pid]).filter((s) => s.state === "01").length;
