/**
 * The CPU-wait meter reads what the kernel saw: with more busy processes
 * than cores, tasks wait for a CPU most of the time; the meter says so.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cpuWaitMicros, createCpuWaitMeter } from "./cpu-pressure.ts";

test("more busy processes than cores: the meter sees tasks waiting for a CPU", {
  skip: cpuWaitMicros() === undefined && "no /proc/pressure/cpu",
}, async () => {
  const busy = Array.from({ length: availableParallelism() * 2 }, () =>
    spawn(process.execPath, ["-e", "const end = Date.now() + 800; while (Date.now() < end);"], { stdio: "ignore" }),
  );
  try {
    await sleep(100);
    const meter = createCpuWaitMeter();
    await sleep(500);
    const share = meter.share();
    assert.ok(share !== null && share > 0.5, `share ${share}`);
  } finally {
    for (const child of busy) child.kill("SIGKILL");
  }
});
