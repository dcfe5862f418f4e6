/**
 * Agents against --isolate (issue 11): a sample of cells run both ways must
 * end the same way. --isolate starts a server and a client process for every
 * run, as the lab did before it had agents: it is the reference.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { quickSettings } from "../catalogue/settings.ts";
import { sameOutcome } from "../reports/compare.ts";
import { cellName } from "../reports/summary.ts";
import { describeRuns, runCases } from "../testing/run-cases.ts";
import { stopAllChildren } from "./child-process.ts";

after(() => stopAllChildren());

const settings = {
  ...quickSettings,
  intervalMs: 200,
  keepalive: { intervalMs: 150, timeoutMs: 400 },
  watchdogMs: 1500,
};
const cases = ["crash", "shutdown-abrupt", "suspend+keepalive", "blackhole+deadline", "rst-stream:8", "suspend+ctrl-c"];

test("a sample of cells ends the same with agents and with fresh processes for every run", async (t) => {
  const agents = await runCases({ cases, settings });
  const isolated = await runCases({ cases, settings, isolate: true, jobs: 6 });
  assert.equal(agents.length, isolated.length);
  const differ = agents.flatMap((cell, i) => {
    const twin = isolated[i];
    assert.equal(`${twin.case} ${cellName(twin)}`, `${cell.case} ${cellName(cell)}`);
    return sameOutcome(cell, twin)
      ? []
      : [`${cell.case} ${cellName(cell)}: ${describeRuns(cell)} | ${describeRuns(twin)}`];
  });
  assert.deepEqual(differ, []);
  for (const cell of [...agents, ...isolated]) assert.deepEqual(cell.runs[0].evidence.missing, [], cell.case);
  t.diagnostic(`${agents.length} cells, the same outcome both ways`);
});
