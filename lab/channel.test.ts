/**
 * A channel's life (issue 17), through the lab's engine with --quick
 * timings: every channel scenario on two client stacks or more, each cell's
 * code one its catalogue entry states (the rule, or a departure with its
 * reason), its fault's evidence on the wire, and the findings users act on.
 * Run after the main suite, one file at a time (package.json): beside two
 * other files (the suite at concurrency 3), a keepalive round-robin cell
 * missed its recovery once.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { labCases } from "./catalogue/cases.ts";
import { defaultSettings, quickSettings } from "./catalogue/settings.ts";
import { runningChildren, stopAllChildren } from "./engine/child-process.ts";
import type { CellResult } from "./reports/results.ts";
import { describeRuns, findCell, runCases } from "./testing/run-cases.ts";
import { ready } from "./testing/stacks.ts";

const channelCases = labCases.filter((c) => c.group === "channel");
// connect-node and grpc-js everywhere; grpcio (PyPI's, in its venv) too where it is built.
const grpcio = await ready("grpcio/grpc");
const clients = ["connect/grpc", "grpc-js/grpc", ...(grpcio ? ["grpcio/grpc"] : [])];
// --quick's timings, but a channel's own and keepalive at the default's: the suite runs beside
// other test files, and a server's first calls, a fault's burst of reconnections and the libraries'
// own reconnect backoff take what they take, and a starved client that answers a 100 ms PING late
// closes a healthy backend's connection; a watchdog that leaves room for it.
const settings = {
  ...quickSettings,
  watchdogMs: 1500,
  keepalive: defaultSettings.keepalive,
  channel: defaultSettings.channel,
};
let cells: CellResult[] = [];
before(async () => {
  cells = await runCases({
    cases: channelCases.map((c) => c.id),
    servers: ["connect", "grpc-js"],
    clients,
    settings,
  });
});
after(() => stopAllChildren());

/** The code of a cell's (one) run. */
const code = (id: string, server: string, client: string) => findCell(cells, id, server, client).runs[0].code;

describe("every channel scenario ends as its catalogue entry states, its fault on the wire", () => {
  for (const labCase of channelCases) {
    test(labCase.id, () => {
      const mine = cells.filter((c) => c.case === labCase.id);
      assert.ok(mine.length >= 2 * 2, `${mine.length} cells`);
      for (const cell of mine) {
        const run = cell.runs[0];
        const where = `${cell.server}<-${cell.client}/${cell.protocol}`;
        assert.ok(
          cell.expected.allowed.includes(run.code),
          `${where}: ${describeRuns(cell)}, allowed ${cell.expected.allowed}`,
        );
        if (run.code === "n/a") continue;
        assert.deepEqual(run.evidence.missing, [], `${where}: the fault's evidence`);
        assert.ok(run.channel && run.channel.calls.length > 0, `${where}: the channel's calls are in the record`);
      }
    });
  }
});

describe("what a long-lived channel does, as users rely on it", () => {
  test("an idle connection the network forgot: the next call hangs; keepalive while idle finds it first and the call succeeds", () => {
    for (const client of ["connect/grpc", "grpc-js/grpc"]) {
      assert.equal(code("idle-then-blackhole", "connect", client), "hang", client);
      assert.equal(code("idle-then-blackhole+keepalive+ping-idle", "connect", client), "ok", client);
      assert.equal(code("idle-then-blackhole+deadline", "connect", client), "deadline_exceeded", client);
    }
    // Keepalive that runs only during calls: connect-node PINGs an idle connection before it uses
    // it (a new connection, ok), grpc-js sends the call on the dead one (unavailable).
    assert.equal(code("idle-then-blackhole+keepalive", "connect", "connect/grpc"), "ok");
    assert.equal(code("idle-then-blackhole+keepalive", "connect", "grpc-js/grpc"), "unavailable");
  });

  test("a restart: calls fail unavailable while the server is down, and the channel comes back", () => {
    for (const client of ["connect/grpc", "grpc-js/grpc"]) {
      const cell = findCell(cells, "restart-through", "connect", client);
      const run = cell.runs[0];
      assert.equal(run.code, "ok+unavailable", `${client}: ${describeRuns(cell)}`);
      assert.ok((run.channel?.summary.ok ?? 0) > 0 && (run.channel?.summary.failed.unavailable ?? 0) > 0);
    }
    assert.equal(code("restart-through+wait-for-ready", "connect", "connect/grpc"), "n/a");
  });

  test("several backends: a crashed one costs the calls under way on it, and the channel moves on", () => {
    for (const client of ["grpc-js/grpc", ...(grpcio ? ["grpcio/grpc"] : [])]) {
      for (const id of ["backends-crash", "backends-crash+round-robin"]) {
        const run = findCell(cells, id, "grpc-js", client).runs[0];
        assert.equal(run.code, "ok+unavailable", `${id} ${client}`);
        assert.notEqual(run.channel?.summary.recoveryMs, null, `${id} ${client}: it recovered`);
      }
      // A suspended one holds its calls for good (no keepalive): nothing takes it out.
      assert.equal(code("backends-suspend", "grpc-js", client), "ok+hang");
    }
    assert.equal(code("backends-crash", "connect", "connect/grpc"), "n/a");
  });

  test("several backends: keepalive takes a stuck one out (not gRPC core 1.85.1's); health checking does not see a suspended one, and only gRPC core does it", () => {
    const python = grpcio;
    for (const id of ["backends-suspend+keepalive+round-robin", "backends-blackhole+keepalive+round-robin"]) {
      const cell = findCell(cells, id, "grpc-js", "grpc-js/grpc");
      const run = cell.runs[0];
      const calls = run.channel?.calls.map((c) => `${c.startMs}..${c.endMs} ${c.code}`).join(", ");
      assert.equal(run.code, "ok+unavailable", `${id}: ${describeRuns(cell)}`);
      assert.notEqual(run.channel?.summary.recoveryMs, null, `${id}: it recovered: ${calls}`);
      // gRPC core 1.85.1 waits its PING timeout (grpc.http2.ping_timeout_ms, a minute) for the ACK:
      // its keepalive takes nothing out within the run (docs/repro/grpcio-keepalive-timeout.py).
      if (python) assert.equal(code(id, "grpc-js", "grpcio/grpc"), "ok+hang", id);
    }
    for (const client of ["grpc-js/grpc", ...(python ? ["grpcio/grpc"] : [])])
      assert.equal(code("backends-suspend+health-check+round-robin", "grpc-js", client), "ok+hang", client);
    const watched = (client: string, server: string) =>
      findCell(cells, "backends-suspend+health-check+round-robin", server, client).runs[0].wire?.some((c) =>
        c.frames.some((f) => f.headers?.some(([, v]) => v === "/grpc.health.v1.Health/Watch")),
      );
    assert.equal(watched("grpc-js/grpc", "grpc-js"), false, "grpc-js reads no healthCheckConfig");
    if (python) {
      assert.equal(watched("grpcio/grpc", "grpc-js"), true, "gRPC core watches each backend");
      // 1.51.1 died of a Watch response with grpc-encoding: gzip, as connect-node sends; 1.85.1 reads it.
      assert.equal(code("backends-suspend+health-check+round-robin", "connect", "grpcio/grpc"), "ok+hang");
    }
    assert.equal(code("backends-suspend+keepalive", "grpc-js", "grpc-js/grpc"), "ok+unavailable");
  });

  test("retries: a policy waits an outage out in grpc-js; connect-node's interceptor does not retry a reset it reads as aborted", () => {
    assert.equal(code("outage-call", "connect", "grpc-js/grpc"), "unavailable");
    assert.equal(code("outage-call+retry", "connect", "grpc-js/grpc"), "ok");
    assert.equal(code("reset-call+retry", "connect", "grpc-js/grpc"), "ok");
    assert.ok(["aborted", "canceled"].includes(code("reset-call+retry", "connect", "connect/grpc")));
    // A call that had a message is committed: no policy repeats it.
    assert.equal(code("crash-in-call+retry", "connect", "grpc-js/grpc"), "unavailable");
  });

  test("the lab leaves no process behind", async () => {
    assert.ok(cells.length > 0);
    assert.equal(runningChildren(), 0);
  });
});
