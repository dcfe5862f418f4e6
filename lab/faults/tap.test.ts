/**
 * The wire tap must not change what clients see (issue 10): a sample of
 * cells, with and without the tap, ends the same way for every client. And a
 * fault peer that misses the wire on purpose (--sabotage) makes lab errors,
 * never findings.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { labCases } from "../catalogue/cases.ts";
import { quickSettings } from "../catalogue/settings.ts";
import { stopAllChildren } from "../engine/child-process.ts";
import { sameOutcome } from "../reports/compare.ts";
import { cellName } from "../reports/summary.ts";
import { describeRuns, runCases } from "../testing/run-cases.ts";

after(() => stopAllChildren());

const settings = {
  ...quickSettings,
  intervalMs: 200,
  keepalive: { intervalMs: 150, timeoutMs: 400 },
  watchdogMs: 1500,
};

test("with and without the tap, every client ends the same way", async (t) => {
  const cases = ["crash", "reset", "shutdown-abrupt", "suspend+keepalive", "rst-stream:8", "goaway:0"];
  const tapped = await runCases({ cases, settings });
  const bare = await runCases({ cases, settings, tap: false });
  const differ = tapped.flatMap((cell, i) =>
    sameOutcome(cell, bare[i])
      ? []
      : [`${cell.case} ${cellName(cell)}: ${describeRuns(cell)} | ${describeRuns(bare[i])}`],
  );
  assert.deepEqual(differ, []);
  for (const cell of tapped) assert.deepEqual(cell.runs[0].evidence.missing, [], `${cell.case} ${cellName(cell)}`);
  for (const cell of bare) assert.equal(cell.runs[0].evidence.checked, false);
  // Labelled: a client with a PING floor (grpcio, ~1 s) detects a suspension anywhere within it.
  const delta = tapped.flatMap((cell, i) => {
    const [a, b] = [cell.runs[0].detectMs, bare[i].runs[0].detectMs];
    return a !== null && b !== null ? [`${cell.case} ${cellName(cell)} ${Math.round(a - b)}`] : [];
  });
  t.diagnostic(`detection with the tap minus without, ms: ${delta.join("; ")}`);
});

test("a fault peer that misses the wire on purpose makes lab errors, not findings", async () => {
  const cases = labCases.filter((c) => c.peer === "fault-peer").map((c) => c.id);
  const cells = await runCases({ cases, settings, sabotagePeer: true, keepOnLabError: false });
  const findings = cells.filter((cell) => cell.runs.some((run) => run.code !== "lab-error"));
  assert.deepEqual(
    findings.map((cell) => `${cell.case} ${cellName(cell)}: ${cell.runs[0].code}`),
    [],
    "every sabotaged run is a lab error",
  );
  // Each says why: no evidence on the wire; or a call over before the fault (the sabotaged fault
  // reaching a client before its message 1: gRPC core 1.85.1 reads a misplaced END_STREAM at once);
  // or a keepalive that did not time what the wire shows, which the engine puts down to the machine.
  for (const cell of cells)
    assert.match(
      cell.runs[0].message,
      /^(no evidence of the fault: |the call ended before message 1, so before the fault: |the client gave up on a keepalive PING .*the machine is too busy)/,
      cell.case,
    );
});
