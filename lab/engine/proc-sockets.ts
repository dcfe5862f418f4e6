import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** One TCP socket of the kernel's tables (/proc/PID/net/tcp and tcp6). */
export interface TcpSocket {
  localPort: number;
  /** The kernel's state, hex: "01" established, "0A" listening. */
  state: string;
}

/**
 * The TCP sockets these processes hold, from the kernel: their socket
 * descriptors (/proc/PID/fd) matched against the connection tables. Read
 * from the kernel, so that what a process does on the network is seen by
 * something that shares no code with it.
 */
export function tcpSockets(pids: readonly number[]): TcpSocket[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode) inodes.add(inode);
      } catch {
        // Closed meanwhile.
      }
    }
  }
  const sockets: TcpSocket[] = [];
  for (const table of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pids[0]}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && inodes.has(f[9])) {
        sockets.push({ localPort: Number.parseInt(f[1].split(":").pop() ?? "0", 16), state: f[3] });
      }
    }
  }
  return sockets;
}
