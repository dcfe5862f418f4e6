import * as assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { epochMs, fromEpoch } from "./wall-clock.ts";

/**
 * The wall clock read on both sides of `now`: epochMs may measure its origin again first (spinning
 * up to ~5 ms), and a busy machine may preempt between two reads; a bound read after that would
 * fail a right answer (seen in CI: 3.3 ms apart).
 */
function wallAround(): { before: number; now: number; after: number } {
  const before = Date.now();
  const now = performance.now();
  const after = Date.now();
  return { before, now, after };
}

/** `epoch` is `now` on the wall clock: between the reads around it, to Date.now()'s whole ms and 1 ms more. */
function assertEpochOf(epoch: number, { before, after }: { before: number; after: number }): void {
  assert.ok(epoch >= before - 2 && epoch <= after + 2, `${epoch} against ${before}-${after}`);
}

test("epochMs and fromEpoch follow the wall clock", () => {
  const around = wallAround();
  assertEpochOf(epochMs(around.now), around);
  const start = performance.now();
  const epoch = Date.now();
  const end = performance.now();
  const at = fromEpoch(epoch);
  assert.ok(at >= start - 2 && at <= end + 2, `${at} against ${start}-${end}`);
});

test("a step of the wall clock is followed: another process's epoch after it reads right", async (t) => {
  // The origin is measured again at most every 100 ms.
  await sleep(150);
  const real = Date.now.bind(Date);
  // What a time service's step looks like from here: the wall clock 45 ms ahead of where it was.
  t.mock.method(Date, "now", () => real() + 45);
  // A process that read the wall clock after the step, at this moment.
  const at = performance.now();
  const epoch = Date.now();
  assert.ok(Math.abs(fromEpoch(epoch) - at) <= 2, `${fromEpoch(epoch)} against ${at}`);
  const around = wallAround();
  assertEpochOf(epochMs(around.now), around);
});
