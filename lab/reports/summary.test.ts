import assert from "node:assert/strict";
import { test } from "node:test";
import { comparisonTable } from "./report-markdown.ts";
import type { CellResult } from "./results.ts";
import type { RunRecord } from "./run-record.ts";
import { checkFailures, disagreeingCells, summarizeCell } from "./summary.ts";

const run = (code: string, detectMs: number | null = 30): RunRecord => ({
  code,
  message: "",
  received: 1,
  messages: ["hello alice #1"],
  call: null,
  detectMs,
  hung: code === "hang",
  exitMs: detectMs,
  caller: "agent",
  timeline: { callStartMs: -20, messagesMs: [5], faults: [], endMs: 40 },
  wire: null,
  evidence: { checked: false, says: [], missing: [] },
});

const cell = (client: string, codes: string[], allowed = ["unavailable"]): CellResult => ({
  case: "crash",
  server: "connect",
  client,
  protocol: "grpc",
  expected: { rule: ["unavailable"], cite: "statuscodes.md", evidence: [], allowed, departures: [] },
  runs: codes.map((code) => run(code)),
});

test("a cell whose runs differ shows every outcome with its count, most frequent first, and is racy", () => {
  const s = summarizeCell(cell("connect", ["canceled", "internal", "internal"], ["canceled", "internal"]));
  assert.equal(s.outcome, "internal x2, canceled x1");
  assert.equal(s.racy, true);
  assert.equal(s.main, "internal");
});

test("the table marks racy, departing, unexpected and disagreeing cells", () => {
  const racy = cell("connect", ["canceled", "internal", "internal"], ["canceled", "internal"]);
  const steady = cell("grpc-js", ["unavailable", "unavailable", "unavailable"]);
  const other = { ...cell("grpc-js", ["unavailable"]), protocol: "grpc-web" };
  const table = comparisonTable([racy, steady, other]);
  assert.match(table, /\| crash \| internal x2, canceled x1 30 ms \*~≠ \| unavailable 30 ms \| unavailable 30 ms \|/);
  // Two stacks, two outcomes: neither is the majority, so both are marked.
  assert.deepEqual([...disagreeingCells([racy, steady])], [racy, steady]);
});

test("--check names each cell outside its stated outcomes and only those", () => {
  const failures = checkFailures([cell("connect", ["canceled"]), cell("grpc-js", ["unavailable"])]);
  assert.deepEqual(failures, ["crash connect<-connect/grpc: canceled (allowed: unavailable)"]);
});

test("detection time is the median of the runs that did not hang, with its range", () => {
  const c = cell("connect", ["unavailable"]);
  c.runs = [run("unavailable", 50), run("unavailable", 10), run("unavailable", 30), run("hang", null)];
  const s = summarizeCell(c);
  assert.equal(s.detectMs, 30);
  assert.deepEqual(s.detectRange, [10, 50]);
  assert.equal(s.outcome, "unavailable x3, hang x1");
});
