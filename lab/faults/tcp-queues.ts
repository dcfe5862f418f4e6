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

/**
 * The kernel's queues of every IPv4 TCP socket, from /proc/net/tcp
 * (proc(5)), keyed by socketKey(). A stopped process writes nothing more, so
 * what a relay reads from it after it was seen stopped must have been in
 * these queues at that moment: evidence from the kernel, whatever the lab's
 * own event loop was doing (issue 22). Empty where there is no /proc.
 */
export function tcpQueues(): Map<string, TcpQueue> {
  const queues = new Map<string, TcpQueue>();
  let text: string;
  try {
    text = readFileSync("/proc/net/tcp", "utf8");
  } catch {
    return queues;
  }
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const [tx, rx] = f[4].split(":").map((hex) => Number.parseInt(hex, 16));
    if (Number.isNaN(tx) || Number.isNaN(rx)) continue;
    queues.set(`${f[1]}>${f[2]}`, { tx, rx });
  }
  return queues;
}
