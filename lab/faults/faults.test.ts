/**
 * The network, handler, restart, HTTP/2 and health cases, for every stack
 * that takes part in each, with --quick timings, through the lab's engine:
 * each cell must end with the code its catalogue entry states for that stack
 * (the gRPC rule, or the known departure with its reason), with its fault's
 * evidence on the wire.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { allowedOutcomes, labCases } from "../catalogue/cases.ts";
import { quickSettings } from "../catalogue/settings.ts";
import { chatServerStacks, stackPairs } from "../catalogue/stacks.ts";
import { runningChildren, stopAllChildren } from "../engine/child-process.ts";
import type { CellResult } from "../reports/results.ts";
import { describeRuns, findCell, runCases, testStacks } from "../testing/run-cases.ts";
import { readyClients, readyServers } from "../testing/stacks.ts";

// Quick timings, with room for a machine busy with other test files: a watchdog long enough that a
// late remedy does not pass for a hang, and a PING timeout long enough that a stalled but live
// server, starved of CPU for a moment, is not taken for a dead one (stall+keepalive must hang).
const settings = {
  ...quickSettings,
  intervalMs: 200,
  keepalive: { intervalMs: 150, timeoutMs: 400 },
  idleTimeoutMs: 400,
  deadlineMs: 500,
  watchdogMs: 1500,
  restartGapMs: 1500,
};

// chat.test.ts covers the process cases the Chat service issue asks for, proxies.test.ts the
// proxy group (it needs nginx and HAProxy), lab/channel.test.ts the channel group and lab/knob.test.ts
// the knob group (the default run's --check states all of it); these are the rest.
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
const newCases = labCases.filter(
  (c) => !covered.has(c.id) && c.group !== "proxy" && c.group !== "channel" && c.group !== "knob",
);
// The stacks the tests run (testing/run-cases.ts testStacks): the fault peer's pairs are among them.
const serversHere = (await readyServers()).filter((s) => testStacks.servers.includes(s.id));
const clientsHere = (await readyClients()).filter((c) => testStacks.clients.includes(c.id));
let cells: CellResult[] = [];
before(async () => {
  cells = await runCases({ cases: newCases.map((c) => c.id), settings });
});
after(() => stopAllChildren());

for (const labCase of newCases) {
  describe(labCase.id, () => {
    // The server's view has one cell per server, whoever drives it.
    const pairs =
      labCase.view === "server"
        ? chatServerStacks
            .filter((s) => serversHere.some((h) => h.id === s.id))
            .filter((s) => !labCase.servers || labCase.servers.includes(s.id))
            .map((server) => ({ server, client: { id: "", client: "", protocol: "" } }))
        : stackPairs(serversHere, clientsHere, labCase.peer).filter(
            ({ server }) => !labCase.servers || labCase.servers.includes(server.id),
          );
    for (const { server, client } of pairs) {
      const allowed = allowedOutcomes(labCase.expect, {
        server: server.id,
        client: client.client,
        protocol: client.protocol,
      });
      test(`${server.id}${client.id ? `<-${client.id}` : ""}: ${allowed.join(" or ")}`, () => {
        const cell = findCell(cells, labCase.id, server.id, client.id);
        const [run] = cell.runs;
        assert.ok(allowed.includes(run.code), `ended ${describeRuns(cell)}, expected ${allowed.join(" or ")}`);
        assert.deepEqual(run.evidence.missing, [], "the fault left its evidence");
        assert.equal(run.evidence.checked, true);
      });
    }
  });
}

test("the lab leaves no process and no socket behind", async () => {
  assert.ok(cells.length > 0);
  assert.equal(runningChildren(), 0);
  // No socket or listener of a relay is left open in this process (a closed handle
  // leaves the list a loop turn or two after its close callback).
  const tcp = () => process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP"));
  for (let i = 0; i < 50 && tcp().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(tcp(), []);
});
