import assert from "node:assert/strict";
import { test } from "node:test";
import { within } from "./within.ts";

const timers = () => process.getActiveResourcesInfo().filter((what) => what === "Timeout").length;

test("within: the promise's value, and no timer left behind to keep the process alive", async () => {
  const before = timers();
  assert.equal(await within(Promise.resolve(7), 60_000), 7);
  assert.equal(timers(), before);
});

test("within: undefined once the time is up", async () => {
  assert.equal(await within(new Promise(() => {}), 20), undefined);
});
