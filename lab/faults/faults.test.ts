/**
 * The network, handler, restart and HTTP/2 fault cases, for every stack that
 * takes part in each, with --quick timings: each cell must end with the code
 * its catalogue entry states for that stack (the gRPC rule, or the known
 * departure with its reason).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { allowedOutcomes, labCases, quickSettings } from "../catalogue/cases.ts";
import { serverStacks, stackPairs } from "../catalogue/stacks.ts";
import { buildEntries } from "../engine/build.ts";
import { runningChildren, stopAllChildren } from "../engine/child-process.ts";
import { runCell } from "../engine/run-cell.ts";

// Quick timings, with room for a machine busy with other test files: a watchdog long enough that a
// late remedy does not pass for a hang, and a PING timeout long enough that a stalled but live
// server, starved of CPU for a moment, is not taken for a dead one (stall+keepalive must hang).
const settings = {
  ...quickSettings,
  keepalive: { intervalMs: 150, timeoutMs: 400 },
  watchdogMs: 1500,
  restartGapMs: 1500,
};

before(buildEntries);
after(() => stopAllChildren());

// chat.test.ts covers the process cases the Chat service issue asks for; these are the rest.
const covered = new Set([
  "normal",
  "no-server",
  "shutdown-graceful",
  "shutdown-abrupt",
  "crash",
  "suspend",
  "suspend+keepalive",
  "suspend+deadline",
  "suspend+ctrl-c",
]);
const newCases = labCases.filter((c) => !covered.has(c.id));

for (const labCase of newCases) {
  describe(labCase.id, { concurrency: 4 }, () => {
    for (const { server, client } of stackPairs(serverStacks, undefined, labCase.peer)) {
      const allowed = allowedOutcomes(labCase.expect, {
        server: server.id,
        client: client.client,
        protocol: client.protocol,
      });
      test(`${server.id}<-${client.id}: ${allowed.join(" or ")}`, async () => {
        const run = await runCell({ labCase, server, client, settings });
        assert.ok(allowed.includes(run.code), `ended ${run.code} "${run.message}", expected ${allowed.join(" or ")}`);
      });
    }
  });
}

test("the fault peer and the proxy leave no process and no socket behind", async () => {
  const labCase = labCases.find((c) => c.id === "blackhole");
  const peerCase = labCases.find((c) => c.id === "mute-peer");
  assert.ok(labCase && peerCase);
  const [pair] = stackPairs(serverStacks, undefined, undefined);
  const [peerPair] = stackPairs(serverStacks, undefined, "fault-peer");
  // Both end on the watchdog with a client still waiting: the worst case for cleaning up.
  const runs = await Promise.all([
    runCell({ labCase, ...pair, settings }),
    runCell({ labCase: peerCase, ...peerPair, settings }),
  ]);
  assert.deepEqual(
    runs.map((r) => r.code),
    ["hang", "hang"],
  );
  assert.equal(runningChildren(), 0);
  // No socket or listener of the proxy is left open in this process (a closed handle
  // leaves the list a loop turn or two after its close callback).
  const tcp = () => process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP"));
  for (let i = 0; i < 50 && tcp().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(tcp(), []);
});
