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
import { existsSync, readdirSync } from "node:fs";
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
/**
 * The processes of the trees and of the groups they lead, as last seen (pid -> start time): a
 * browser that outlived the agent that started it (reparented to init before the lab died) is
 * still found. Read every second while there are trees, one pass over /proc for all of them.
 */
const treeMembers = new Map<number, string>();
setInterval(() => {
  if (trees.size === 0) return;
  const stats = new Map<number, string[]>();
  try {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const stat = procStat(Number(name));
      if (stat) stats.set(Number(name), stat);
    }
  } catch {
    return;
  }
  const mine = new Set(trees);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, stat] of stats) {
      // A child of one of ours, or in a group one of ours leads.
      if (!mine.has(pid) && (mine.has(Number(stat[1])) || mine.has(Number(stat[2])))) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  for (const pid of mine) {
    const started = stats.get(pid)?.[19];
    if (started !== undefined && !trees.has(pid)) treeMembers.set(pid, started);
  }
}, 1000).unref();

lines.on("close", () => {
  const kill = (pid: number) => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  };
  // Each tree's root is frozen first: a root that starts a process while its tree is being ended
  // (an agent launching its browser) would leave that one behind.
  const roots = [...trees].filter((root) => {
    const started = children.get(root);
    return started !== undefined && (started === "" || startTime(root) === started);
  });
  for (const root of roots) {
    try {
      process.kill(root, "SIGSTOP");
    } catch {
      // Gone already.
    }
  }
  // The processes below each root now, those that left it but stay in a group it leads (see
  // treeGroups), and those seen in it before that are still the same processes (see treeMembers).
  const doomed = new Set(roots.flatMap((root) => [...descendants(root), ...treeGroups(root)]));
  for (const [pid, started] of treeMembers) if (procStat(pid)?.[19] === started) doomed.add(pid);
  // A group one of them leads goes whole (a browser's helpers); never a group none of them leads
  // (the others' group is the lab's own, or its caller's).
  for (const pid of doomed) if (procStat(pid)?.[2] === String(pid)) kill(-pid);
  for (const pid of doomed) kill(pid);
  for (const [pid, started] of children) {
    if (started !== "" && startTime(pid) !== started) continue;
    kill(pid);
  }
  process.exit(0);
});
