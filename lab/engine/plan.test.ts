/**
 * How the plan puts runs into scenes (issue 29): one fault watched by as many runs as can be at
 * message 1 together, split evenly, and client processes on one server where their case lets them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { labCases } from "../catalogue/cases.ts";
import { readProfile } from "../catalogue/profiles.ts";
import { defaultSettings, type LabSettings, quickSettings } from "../catalogue/settings.ts";
import { clientStacks, serverStacks } from "../catalogue/stacks.ts";
import { maxObservers, maxServerViewMs, type PlanOptions, planCells, planScenes, sceneEstimateMs } from "./plan.ts";

function scenesOf(caseIds: string[], settings: LabSettings, serverIds: string[], servers = serverStacks) {
  const options: PlanOptions = {
    cases: labCases.filter((c) => caseIds.includes(c.id)),
    servers: servers.filter((s) => serverIds.includes(s.id)),
    clients: clientStacks,
    repeat: 3,
    settings,
    isolate: false,
    profile: readProfile("lab", settings),
    peerArgs: [],
    tap: true,
    callArgs: [],
  };
  const cells = planCells(options);
  return { cells, scenes: planScenes(cells, options) };
}

test("a fault's runs are split evenly over as few servers as the message-1 bound allows", () => {
  const { cells, scenes } = scenesOf(["crash"], defaultSettings, ["connect"]);
  const runs = cells.filter((c) => c.result.expected.rule[0] !== "n/a").length * 3;
  assert.equal(maxObservers(defaultSettings), 17);
  // Every client stack's three runs: 33, in two scenes of 17 and 16, not 12 + 12 + 9.
  assert.equal(runs, 33);
  assert.deepEqual(
    scenes.map((s) => s.observers.length),
    [17, 16],
  );
  // Each run once.
  assert.equal(new Set(scenes.flatMap((s) => s.observers)).size, runs);
  // At --quick's 100 ms between messages, 4 at most.
  const quick = scenesOf(["crash"], quickSettings, ["connect"]);
  assert.ok(quick.scenes.every((s) => s.observers.length <= 4));
  assert.equal(
    quick.scenes.reduce((n, s) => n + s.observers.length, 0),
    33,
  );
});

test("the JVM, slow to start, is watched by twice as many runs: a first-question case's in one scene", () => {
  // grpc-java speaks gRPC only: 7 client stacks' three runs, 21, in one scene (17 at most would be 11 + 10).
  const { scenes } = scenesOf(["crash"], defaultSettings, ["grpc-java"]);
  assert.deepEqual(
    scenes.map((s) => s.observers.length),
    [21],
  );
  // The three suspensions share one fault (SIGSTOP) and flags: 63 runs in two scenes, not four.
  const stops = scenesOf(["suspend", "suspend+keepalive", "suspend+deadline"], defaultSettings, ["grpc-java"]);
  assert.deepEqual(
    stops.scenes.map((s) => s.observers.length),
    [32, 31],
  );
  // At --quick's pace, still a few only.
  const quick = scenesOf(["crash"], quickSettings, ["grpc-java"]);
  assert.ok(quick.scenes.every((s) => s.observers.length <= 6));
  // Your own server (issue 28), however long it took to start, keeps 17: its message-1 spread is unmeasured.
  const connect = serverStacks.find((s) => s.id === "connect");
  assert.ok(connect);
  const yours = {
    ...connect,
    program: { kind: "command", command: "x {port}", name: "yours" } as const,
    startMs: 3000,
  };
  const own = scenesOf(["crash"], defaultSettings, ["connect"], [yours]).scenes;
  assert.deepEqual(
    own.map((s) => s.observers.length),
    [17, 16],
  );
});

test("behind a proxy, 12 at most: each call's set-up crosses two relays and the proxy", () => {
  const { scenes } = scenesOf(["nginx/suspend+keepalive"], defaultSettings, ["connect"]);
  assert.deepEqual(
    scenes.map((s) => s.observers.length),
    [11, 11, 11],
  );
});

test("client processes of a case that allows it watch one server together", () => {
  const { scenes } = scenesOf(["suspend+keepalive+call-again"], defaultSettings, ["connect"]);
  const processes = scenes.filter((s) => s.observers.some((o) => o.caller === "process"));
  // connect-node's three protocols, three runs each: one server, not nine.
  assert.equal(processes.length, 1);
  assert.equal(processes[0].observers.length, 9);
  assert.ok(processes[0].observers.every((o) => o.caller === "process"));
  // Its message 2 comes late enough for processes that load 0.2-0.5 s apart.
  const interval = processes[0].serverArgs.lastIndexOf("--interval-ms");
  assert.ok(Number(processes[0].serverArgs[interval + 1]) >= 3000);
});

test("a server that takes no --interval-ms (your own, issue 28) gives each client process its own", () => {
  const connect = serverStacks.find((s) => s.id === "connect");
  assert.ok(connect);
  const yours = { ...connect, refuses: [{ flags: ["--interval-ms"], why: "your server's are its own" }] };
  const scenes = scenesOf(["suspend+keepalive+call-again"], defaultSettings, ["connect"], [yours]).scenes.filter(
    (s) => s.observers[0].caller === "process",
  );
  assert.equal(scenes.length, 9);
  // At the run's own pause between messages, not the longer one sharing takes.
  const interval = (args: string[]) => args[args.lastIndexOf("--interval-ms") + 1];
  assert.ok(scenes.every((s) => s.observers.length === 1 && interval(s.serverArgs) === "500"));
});

test("the server's view shares a server among runs of the same flags, up to its bound", () => {
  const ids = labCases.filter((c) => c.view === "server").map((c) => c.id);
  const { scenes } = scenesOf(ids, defaultSettings, ["connect"]);
  const views = scenes.filter((s) => s.source === "server-view");
  assert.ok(views.every((s) => sceneEstimateMs(s, defaultSettings) <= maxServerViewMs));
  // At most one server for two of its cases: the cases with the server's default flags share
  // (with 8 s of runs a server, connect-node's 12 cases took 10).
  const cases = new Set(views.flatMap((s) => s.observers.map((o) => o.cell.labCase.id)));
  assert.ok(views.length * 2 <= cases.size, `${views.length} servers for ${cases.size} cases`);
});
