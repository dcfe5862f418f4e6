import * as assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { epochMs, fromEpoch } from "./wall-clock.ts";

test("epochMs and fromEpoch follow the wall clock", () => {
  const now = performance.now();
  assert.ok(Math.abs(epochMs(now) - Date.now()) <= 2, `${epochMs(now)} against ${Date.now()}`);
  assert.ok(Math.abs(fromEpoch(Date.now()) - performance.now()) <= 2);
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
  const now = performance.now();
  assert.ok(Math.abs(epochMs(now) - Date.now()) <= 2);
});
