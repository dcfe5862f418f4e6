import type { Child } from "./child-process.ts";
import { probePort } from "./free-port.ts";
import { tcpSockets } from "./proc-sockets.ts";
import { descendants, treeGroups } from "./proc-stat.ts";

/** How often a port is tried while a command starts, ms. */
const pollMs = 50;

/**
 * Waits until a program that prints no `listening on` line (the user's own
 * server, issue 28) accepts TCP connections on host:port. Rejects in one
 * line when it exits first (with the last line of its stderr), or when the
 * time is up (with the ports it listens on instead, read from the kernel).
 * It counts as listening once the port accepts and the kernel shows the
 * listener among the child's processes.
 */
export async function waitListening(child: Child, host: string, port: number, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    if (child.exit) {
      const last = child.stderr().trim().split("\n").pop() ?? "";
      throw new Error(
        `${child.entry} exited (${child.exit.signal ?? `exit ${child.exit.code}`}) before it listened on ${host}:${port}${last ? `: ${last}` : ""}`,
      );
    }
    // Open, and by the child: a connection to a free ephemeral port can meet itself (TCP's
    // simultaneous open, when the kernel picks that port as the probe's own), or another program that
    // took the port after freePort() gave it up. CI once read a command listening elsewhere as
    // started, then its call was refused.
    if ((await probePort(port, host)) === "open" && listeningPorts(child.pid).includes(port)) return;
    if (performance.now() >= until) {
      const elsewhere = listeningPorts(child.pid).filter((p) => p !== port);
      throw new Error(
        `${child.entry} did not listen on ${host}:${port} within ${timeoutMs} ms${
          elsewhere.length > 0
            ? ` (it listens on ${elsewhere.join(", ")}: does the command put {port} where the program takes its port?)`
            : ""
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The TCP ports a process, those below it and those of its groups listen on. */
export function listeningPorts(pid: number): number[] {
  const sockets = tcpSockets([pid, ...descendants(pid), ...treeGroups(pid)]);
  return [...new Set(sockets.filter((s) => s.state === "0A").map((s) => s.localPort))].sort((a, b) => a - b);
}
