/**
 * The lab's undertaker: a tiny process that outlives the lab and ends every
 * process the lab started once the lab is gone, however it went (SIGKILL
 * included, when the lab has no chance to clean up).
 *
 * The lab starts it with a pipe on stdin and writes `+PID` for each child it
 * starts (`*PID` for one whose own processes end with it: a browser agent)
 * and `-PID` for each that ended. When stdin closes (the lab exited
 * or was killed: the kernel closes its end of the pipe either way), every
 * child still listed gets SIGKILL, which also ends a stopped (SIGSTOP)
 * process at once. A pid is only killed if it still names the process that
 * was registered (same start time in /proc), never a stranger that reused it.
 *
 * Not a user-facing program: lab/child-process.ts starts it.
 */
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { descendants, procStat, treeGroups } from "./proc-stat.ts";

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot; undefined when gone. */
const startTime = (pid: number): string | undefined => procStat(pid)?.[19];

// Its life is tied to the lab's stdin pipe, not to signals: Ctrl-C reaches the whole
// process group, and the supervisor must still be there if the lab dies while cleaning up.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => {});

/** Registered children: pid -> start time (or "" where there is no /proc to tell, e.g. not Linux). */
const children = new Map<number, string>();
const procfs = existsSync("/proc/self/stat");

function register(pid: number): void {
  if (!procfs) {
    children.set(pid, "");
    return;
  }
  // Gone before we looked: nothing to end, and its pid may soon be someone else's.
  const started = startTime(pid);
  if (started !== undefined) children.set(pid, started);
}

/** Registered children that start processes of their own (`*PID`: a browser agent's browser). */
const trees = new Set<number>();

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const pid = Number(line.slice(1));
  if (!Number.isSafeInteger(pid) || pid <= 0) return;
  if (line[0] === "+" || line[0] === "*") register(pid);
  if (line[0] === "*") trees.add(pid);
  else if (line[0] === "-") {
    children.delete(pid);
    trees.delete(pid);
  }
});
lines.on("close", () => {
  // The processes below a tree's root first, while its root still holds them (once it is killed,
  // they belong to init and no parent pid leads to them).
  for (const root of trees) {
    const started = children.get(root);
    if (started === undefined || (started !== "" && startTime(root) !== started)) continue;
    // And the processes that left the tree but stayed in a group it leads (see treeGroups).
    for (const pid of [...descendants(root), ...treeGroups(root)]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }
  for (const [pid, started] of children) {
    if (started !== "" && startTime(pid) !== started) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  process.exit(0);
});
