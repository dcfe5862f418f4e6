import { readFileSync } from "node:fs";

/**
 * Linux pressure stall information (PSI, /proc/pressure/cpu): the
 * microseconds since boot during which some runnable task waited for a CPU.
 * Undefined where the kernel has no PSI.
 */
export function cpuWaitMicros(): number | undefined {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync("/proc/pressure/cpu", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Measures the share of a span of time during which some task waited for a
 * CPU: 0 on an idle machine, 1 when the cores were oversubscribed all along.
 * A run's timings mean what they say only when its processes got the CPU
 * when they asked (issue 17: a recovery timed at 3.2 s under full load took
 * 0.1-0.4 s alone). `share()` is null without PSI.
 */
export function createCpuWaitMeter(): { share(): number | null } {
  const from = cpuWaitMicros();
  const start = performance.now();
  return {
    share() {
      const to = cpuWaitMicros();
      const ms = performance.now() - start;
      if (from === undefined || to === undefined || ms <= 0) return null;
      return Math.min(1, Math.max(0, (to - from) / 1000 / ms));
    },
  };
}
