import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";

/**
 * A loopback port nobody listened on a moment ago: for calls that must find
 * no server. (Servers the lab starts take --port 0 and report their own.)
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== "object" || address === null) throw new Error("no port from listen(0)");
  return address.port;
}

/** What a TCP connection to a loopback port meets now: "open", or the error's code (ECONNREFUSED, ...). */
export function probePort(port: number, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("open");
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** The kernel's range for ports it hands out by itself (outgoing connections, listen(0)). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (low > 0 && high >= low) return [low, high];
  } catch {}
  return [32768, 60999];
}

/**
 * A loopback port below the kernel's ephemeral range that nobody listens on
 * now: for a port that stays ours while nobody listens on it between runs (a
 * proxy's upstream slot, issue 14). The kernel never picks it as the local
 * port of an outgoing connection, as it could a freePort() once released.
 */
export async function freeFixedPort(host = "127.0.0.1"): Promise<number> {
  const [low] = ephemeralRange();
  const from = Math.max(1024, Math.min(20_000, low - 8192));
  for (let tries = 0; tries < 200; tries++) {
    const port = from + Math.floor(Math.random() * (low - from));
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    if (ok) {
      await new Promise((resolve) => server.close(resolve));
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  }
  throw new Error(`no free port between ${from} and ${low}`);
}

/** Ports handed out by freeFixedPort in this process: never twice. */
const taken = new Set<number>();
