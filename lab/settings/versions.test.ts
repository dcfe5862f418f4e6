/**
 * The release matrix (issue 18): one change per npm library, reproduced
 * with the releases installed side by side (releases/) and driven by the
 * same agents as the project's own.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { defaultSettings, quickSettings } from "../catalogue/settings.ts";
import { stopAllChildren } from "../engine/child-process.ts";
import type { CellResult } from "../reports/results.ts";
import { describeRuns, findCell, runCases } from "../testing/run-cases.ts";

let cells: CellResult[] = [];
before(async () => {
  cells = await runCases({
    cases: ["mute-peer+keepalive", "suspend+keepalive+call-again"],
    servers: ["connect", "fault-peer"],
    clients: ["grpc-js/grpc", "grpc-js@1.12.6/grpc", "connect/grpc", "connect@2.3.0/grpc"],
    settings: { ...quickSettings, watchdogMs: 1500, keepalive: defaultSettings.keepalive },
    releases: true,
  });
});
after(() => stopAllChildren());

const code = (id: string, server: string, client: string) => {
  const cell = findCell(cells, id, server, client);
  assert.deepEqual(cell.runs[0].evidence.missing, [], `${id} ${client}: the fault on the wire (${describeRuns(cell)})`);
  return cell.runs[0].code;
};

test("grpc-js 1.13 and later wait for the peer's SETTINGS before a connection exists: a mute peer is no longer found by keepalive", () => {
  assert.equal(code("mute-peer+keepalive", "fault-peer", "grpc-js@1.12.6/grpc"), "unavailable");
  assert.equal(code("mute-peer+keepalive", "fault-peer", "grpc-js/grpc"), "hang");
});

test("connect-node 2.1.2 dies of a call made right after a PING timeout; 2.3.0, on the Node 22 it declares, does not", () => {
  const old = findCell(cells, "suspend+keepalive+call-again", "connect", "connect/grpc");
  assert.equal(old.runs[0].code, "crashed", describeRuns(old));
  assert.match(old.runs[0].message, /unhandled 'error' event: .*PING timed out/);
  assert.equal(code("suspend+keepalive+call-again", "connect", "connect@2.3.0/grpc"), "unavailable");
  // The release really ran: its cell names it.
  assert.equal(findCell(cells, "suspend+keepalive+call-again", "connect", "connect@2.3.0/grpc").release, "2.3.0");
});
