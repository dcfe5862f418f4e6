import type { ServerLog } from "./server-log.ts";

/**
 * SIGUSR2 makes a server print its memory, and how many Chat handlers are
 * still running: `kill -USR2 PID` while it runs.
 * Started with `node --expose-gc`, it collects garbage first, so that heap
 * used is what is still held (the leak tests and the memory benchmark read
 * it); without, the figures include garbage not yet collected.
 */
export function reportMemoryOnSignal(log: ServerLog, handlersRunning: () => number): void {
  process.on("SIGUSR2", () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const { heapUsed, rss } = process.memoryUsage();
    log.memory(heapUsed, rss, gc !== undefined, handlersRunning());
  });
}
