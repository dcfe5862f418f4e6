/**
 * Settings users set (issue 18): findings that hold for one setting only,
 * each run as the lab runs it, its fault proven on the wire. With
 * versions.test.ts, run after the main suite, one file at a time (package.json):
 * beside lab/channel.test.ts, two suite runs had grpc-js channel calls hang on
 * a reconnect, as a starved machine makes them.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { readProfile } from "../catalogue/profiles.ts";
import { defaultSettings, quickSettings } from "../catalogue/settings.ts";
import { stopAllChildren } from "../engine/child-process.ts";
import type { CellResult } from "../reports/results.ts";
import { describeRuns, findCell, runCases } from "../testing/run-cases.ts";
import { ready } from "../testing/stacks.ts";

const grpcio = await ready("grpcio/grpc");
// --quick's timings with the default keepalive: a starved client answers a 100 ms PING late.
const settings = { ...quickSettings, watchdogMs: 1500, keepalive: defaultSettings.keepalive };
const permit = (section: string, value: number) =>
  `mute-peer+keepalive@${section}:grpc.keepalive_permit_without_calls=${value}`;
const strikes = (value: number) => `stall+keepalive@grpcio-server:grpc.http2.max_ping_strikes=${value}`;
const idle = (section: string, option: string) => `idle-then-blackhole@${section}:${option}=1000`;

let knobs: CellResult[] = [];
let drained: { lab: CellResult[]; keepalive: CellResult[] } = { lab: [], keepalive: [] };
before(async () => {
  knobs = await runCases({
    cases: [
      permit("grpc-js", 0),
      permit("grpc-js", 1),
      idle("grpc-js", "grpc.client_idle_timeout_ms"),
      idle("connect-node", "idleConnectionTimeoutMs"),
      ...(grpcio
        ? [
            permit("grpcio", 0),
            permit("grpcio", 1),
            strikes(2),
            strikes(0),
            idle("grpcio", "grpc.client_idle_timeout_ms"),
          ]
        : []),
    ],
    servers: ["fault-peer", "grpcio", "connect"],
    clients: ["grpc-js/grpc", "connect/grpc", ...(grpcio ? ["grpcio/grpc"] : [])],
    // A channel's own timings at the default's: its idle time must outlast a 1 s idle timeout.
    settings: { ...settings, channel: defaultSettings.channel },
  });
  // The same graceful shutdown, with the lab's settings and with grpc-js keepalive set as a user would.
  const keepalive = readProfile("lab", settings);
  keepalive.sections["grpc-js"] = { "grpc.keepalive_time_ms": 100 };
  const drain = { cases: ["shutdown-graceful"], servers: ["connect"], clients: ["grpc-js/grpc"], settings };
  drained = { lab: await runCases(drain), keepalive: await runCases({ ...drain, profile: keepalive }) };
});
after(() => stopAllChildren());

const code = (cells: CellResult[], id: string, server: string, client: string) => {
  const cell = findCell(cells, id, server, client);
  assert.deepEqual(cell.runs[0].evidence.missing, [], `${id} ${client}: the fault on the wire (${describeRuns(cell)})`);
  return cell.runs[0].code;
};

test("a peer that never speaks HTTP/2: gRPC core PINGs it only with keepalive_permit_without_calls (and 1.85.1 then waits its PING timeout), grpc-js never", {
  skip: !grpcio && "no Python 3 with grpcio",
}, () => {
  const pings = (id: string) =>
    findCell(knobs, id, "fault-peer", "grpcio/grpc").runs[0].wire?.some((c) =>
      c.frames.some((f) => f.dir === "c2s" && f.type === "PING"),
    );
  assert.equal(code(knobs, permit("grpcio", 0), "fault-peer", "grpcio/grpc"), "hang");
  assert.equal(pings(permit("grpcio", 0)), false, "no PING without the option");
  // 1.51.1 ended it unavailable after the keepalive timeout; 1.85.1 waits grpc.http2.ping_timeout_ms
  // for the ACK, a minute by default (docs/repro/grpcio-keepalive-timeout.py).
  assert.equal(code(knobs, permit("grpcio", 1), "fault-peer", "grpcio/grpc"), "hang");
  assert.equal(pings(permit("grpcio", 1)), true, "PINGs with the option");
  assert.equal(code(knobs, permit("grpc-js", 0), "fault-peer", "grpc-js/grpc"), "hang");
  assert.equal(code(knobs, permit("grpc-js", 1), "fault-peer", "grpc-js/grpc"), "hang");
});

test("an idle timeout shorter than the idle time saves the next call from a forgotten connection, except in grpc-js, which keeps the connection", () => {
  assert.equal(code(knobs, idle("connect-node", "idleConnectionTimeoutMs"), "connect", "connect/grpc"), "ok");
  assert.equal(code(knobs, idle("grpc-js", "grpc.client_idle_timeout_ms"), "connect", "grpc-js/grpc"), "hang");
  if (grpcio) assert.equal(code(knobs, idle("grpcio", "grpc.client_idle_timeout_ms"), "connect", "grpcio/grpc"), "ok");
});

test("gRPC core's server as shipped cuts off a grpc-js client that PINGs a silent stream; max_ping_strikes 0 lets it be", {
  skip: !grpcio && "no Python 3 with grpcio",
}, () => {
  assert.equal(code(knobs, strikes(2), "grpcio", "grpc-js/grpc"), "resource_exhausted");
  assert.equal(code(knobs, strikes(0), "grpcio", "grpc-js/grpc"), "hang");
});

test("grpc-js with keepalive set: a graceful shutdown cuts the stream it should have let finish", () => {
  const lab = findCell(drained.lab, "shutdown-graceful", "connect", "grpc-js/grpc");
  const keepalive = findCell(drained.keepalive, "shutdown-graceful", "connect", "grpc-js/grpc");
  assert.equal(lab.runs[0].code, "ok", describeRuns(lab));
  // The next keepalive PING goes to a session that got GOAWAY, fails, and grpc-js drops it.
  assert.equal(keepalive.runs[0].code, "unavailable", describeRuns(keepalive));
  assert.deepEqual(keepalive.runs[0].evidence.missing, []);
});
