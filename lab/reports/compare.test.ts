import assert from "node:assert/strict";
import { test } from "node:test";
import { differingCells, sameOutcome } from "./compare.ts";
import type { CellResult } from "./results.ts";
import type { RunRecord } from "./run-record.ts";

const run = (code: string): RunRecord => ({
  code,
  message: "",
  received: 1,
  messages: [],
  call: null,
  detectMs: 10,
  hung: false,
  exitMs: null,
  caller: "agent",
  timeline: { callStartMs: -20, messagesMs: [], faults: [], endMs: 10 },
  wire: null,
  evidence: { checked: true, says: [], missing: [] },
});

const crash = (codes: string[]): CellResult => ({
  case: "crash",
  server: "connect",
  client: "connect",
  protocol: "grpc",
  expected: {
    rule: ["unavailable"],
    cite: "PROTOCOL-HTTP2.md",
    evidence: [],
    allowed: ["unavailable", "canceled", "aborted"],
    departures: [{ codes: ["canceled", "aborted"], why: "FIN or RST" }],
  },
  runs: codes.map(run),
});

const deadline = (codes: string[]): CellResult => ({
  ...crash(codes),
  case: "client-deadline",
  expected: { rule: ["deadline_exceeded", "canceled"], cite: "either", evidence: [], allowed: [], departures: [] },
});

test("two modes that end a cell within one race the catalogue names agree; anything else differs", () => {
  assert.equal(sameOutcome(crash(["canceled"]), crash(["aborted", "canceled"])), true);
  assert.equal(sameOutcome(deadline(["canceled"]), deadline(["deadline_exceeded"])), true);
  assert.equal(sameOutcome(crash(["canceled"]), crash(["unavailable"])), false);
  assert.equal(sameOutcome(crash(["canceled"]), crash(["canceled"])), true);
});

test("--compare names each difference's race, or calls it unexplained", () => {
  const found = differingCells(
    [crash(["canceled"]), { ...deadline(["canceled"]), server: "grpc-js" }, { ...crash(["ok"]), case: "normal" }],
    [
      crash(["aborted"]),
      { ...deadline(["deadline_exceeded"]), server: "grpc-js" },
      { ...crash(["hang"]), case: "normal" },
    ],
    ["agents", "isolate"],
  );
  assert.deepEqual(
    found.map((d) => [d.line, d.race]),
    [
      ["crash connect<-connect/grpc: agents canceled | isolate aborted", "FIN or RST"],
      [
        "client-deadline grpc-js<-connect/grpc: agents canceled | isolate deadline_exceeded",
        "the rule allows each: either",
      ],
      ["normal connect<-connect/grpc: agents ok | isolate hang", undefined],
    ],
  );
});
