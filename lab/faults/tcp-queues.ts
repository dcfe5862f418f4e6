import { readFileSync } from "node:fs";

/** Bytes the kernel holds on one TCP socket. */
export interface TcpQueue {
  /** Sent by the socket's owner, not yet taken by the peer. */
  tx: number;
  /** Arrived, not yet read by the owner. */
  rx: number;
}

/** An IPv4 address and port as /proc/net/tcp writes them: "0100007F:1F90" for 127.0.0.1:8080. */
function procAddress(ip: string, port: number): string {
  const hexIp = ip
    .split(".")
    .map((octet) => Number(octet).toString(16).padStart(2, "0"))
    .reverse()
    .join("")
    .toUpperCase();
  return `${hexIp}:${port.toString(16).padStart(4, "0").toUpperCase()}`;
}

/** The key of a socket in loopbackTcpQueues(), by its two ends (IPv4). */
export function socketKey(local: { ip: string; port: number }, remote: { ip: string; port: number }): string {
  return `${procAddress(local.ip, local.port)}>${procAddress(remote.ip, remote.port)}`;
}

/** The kernel's queues of the sockets a caller asks for, by socketKey(). */
export interface TcpQueues {
  get(key: string): TcpQueue | undefined;
}

/**
 * The kernel's queues of every IPv4 TCP socket, from /proc/net/tcp
 * (proc(5)), keyed by socketKey(). A stopped process writes nothing more, so
 * what a relay reads from it after it was seen stopped must have been in
 * these queues at that moment: evidence from the kernel, whatever the lab's
 * own event loop was doing (issue 22). Empty where there is no /proc.
 *
 * Read at once, parsed only for the sockets asked for: the file lists every
 * socket of the machine, thousands in TIME_WAIT during a run, and splitting
 * each line was a third of what this cost the lab (issue 29).
 */
export function tcpQueues(): TcpQueues {
  let text = "";
  try {
    text = readFileSync("/proc/net/tcp", "utf8");
  } catch {
    // No /proc: no queues.
  }
  return {
    get(key) {
      // A line: "  12: 0100007F:1F90 0100007F:A1B2 01 00000000:00000000 ...".
      const at = text.indexOf(` ${key.replace(">", " ")} `);
      if (at < 0) return undefined;
      const f = text
        .slice(at, text.indexOf("\n", at) >>> 0)
        .trim()
        .split(/\s+/);
      const [tx, rx] = (f[3] ?? "").split(":").map((hex) => Number.parseInt(hex, 16));
      return Number.isNaN(tx) || Number.isNaN(rx) ? undefined : { tx, rx };
    },
  };
}
