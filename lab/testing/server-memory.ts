import type { Child } from "../engine/child-process.ts";

/** A server's memory as it prints it on SIGUSR2 (lib/memory-report.ts), bytes. */
export interface ServerMemory {
  heapUsed: number;
  rss: number;
  /** Chat handlers still running. */
  handlers: number;
}

/**
 * Sends SIGUSR2 to a Chat server and reads the `memory:` line it prints
 * back: heap used after a full GC when it runs under `node --expose-gc`.
 */
export async function readServerMemory(server: Child, timeoutMs = 5000): Promise<ServerMemory> {
  const seen = server.lines.length;
  server.signal("SIGUSR2");
  for (const deadline = performance.now() + timeoutMs; performance.now() < deadline; ) {
    const line = server.lines.slice(seen).find((l) => l.text.startsWith("memory: "));
    // grpcio without tracemalloc says "heap used unknown": NaN, never a number it did not measure.
    const m = line && /heap used (\d+ bytes|unknown).*rss (\d+) bytes.*, (\d+) handler\(s\) running/.exec(line.text);
    if (m) return { heapUsed: Number.parseInt(m[1], 10), rss: Number(m[2]), handlers: Number(m[3]) };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const last = server.lines.at(-1)?.text;
  const stderr = server.stderr().trim().split("\n").at(-1);
  throw new Error(
    `${server.entry} printed no memory line within ${timeoutMs} ms of SIGUSR2` +
      `${server.exit ? ` (it exited: ${server.exit.code ?? server.exit.signal})` : ""}` +
      `${last ? `; its last line: ${last.slice(0, 160)}` : ""}${stderr ? `; stderr: ${stderr.slice(0, 160)}` : ""}`,
  );
}

/** Bytes as MiB, one decimal. */
export const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
