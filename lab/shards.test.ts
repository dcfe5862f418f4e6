/**
 * The full matrix on many machines (issue 29): shards are deterministic shares of the cells,
 * balanced by estimated run time; their merge is exactly the unsharded run's cells, each once;
 * shards of different plans are refused with one line naming the difference.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { defaultSettings } from "./catalogue/settings.ts";
import { fullMatrixPlan, shardCells, shardLoads } from "./engine/shards.ts";
import type { LabResults } from "./reports/results.ts";
import { runLab, runLabChecked } from "./testing/lab-cli.ts";

test("every cell of the full matrix is in exactly one of N shards, and the shards' run times are close", () => {
  const cells = fullMatrixPlan();
  for (const count of [1, 4, 16]) {
    const shards = Array.from({ length: count }, (_, i) =>
      shardCells(cells, { index: i + 1, count }, defaultSettings, 3),
    );
    const seen = shards.flat();
    assert.equal(seen.length, cells.length);
    assert.equal(new Set(seen).size, cells.length);
    const loads = shardLoads(cells, count, defaultSettings, 3);
    const ratio = Math.max(...loads) / Math.min(...loads);
    assert.ok(
      ratio < (count === 16 ? 1.5 : 1.1),
      `${count} shards: loads ${loads.map((l) => Math.round(l / 1000)).join(", ")} s`,
    );
  }
  // The same shares on another machine: the plan alone decides them.
  const again = shardCells(fullMatrixPlan(), { index: 2, count: 4 }, defaultSettings, 3).map((c) => c.result);
  assert.deepEqual(
    again.map((c) => `${c.case} ${c.server} ${c.client}/${c.protocol}`),
    shardCells(cells, { index: 2, count: 4 }, defaultSettings, 3).map(
      (c) => `${c.result.case} ${c.result.server} ${c.result.client}/${c.result.protocol}`,
    ),
  );
});

test("three shards merge into exactly the cells of the unsharded run, each once; a partial or mixed merge is refused", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lab-shards-"));
  const args = [
    "--quick",
    "--cases",
    "normal,no-server,crash,shutdown-abrupt",
    "--servers",
    "connect,grpc-js",
    "--clients",
    "connect/grpc,connect/connect,grpc-js/grpc",
  ];
  const whole = await runLabChecked(args, path.join(dir, "whole"));
  const shards = [1, 2, 3].map((i) => path.join(dir, `shard-${i}`));
  await Promise.all(
    shards.map(async (out, i) => {
      const r = await runLab([...args, "--shard", `${i + 1}/3`, "--out", out]);
      assert.equal(r.status, 0, r.stderr);
    }),
  );
  const merged = await runLab(["--merge", ...shards, "--out", path.join(dir, "merged"), "--check", "--json"]);
  assert.equal(merged.status, 0, merged.stderr);
  const results = JSON.parse(merged.stdout.trim().split("\n").pop() ?? "") as LabResults;
  const key = (c: LabResults["cells"][number]) => `${c.case} ${c.server} ${c.client}/${c.protocol}`;
  assert.deepEqual(results.cells.map(key), whole.cells.map(key));
  assert.equal(new Set(results.cells.map(key)).size, results.cells.length);
  assert.equal(results.meta.merged?.length, 3);
  // Each shard ran a share: none ran everything.
  for (const out of shards) {
    const part = JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")) as LabResults;
    assert.ok(part.cells.length < whole.cells.length && part.cells.length > 0, `${out}: ${part.cells.length} cells`);
  }

  const partial = await runLab(["--merge", shards[0], shards[2], "--out", path.join(dir, "partial")]);
  assert.equal(partial.status, 2);
  assert.match(partial.stderr.trim(), /^lab: --merge: shard\(s\) 2\/3 missing$/);

  // A shard of other settings (its results.json says so) is refused, naming what differs.
  const odd = path.join(dir, "odd");
  const r = await runLab([...args, "--interval-ms", "120", "--shard", "2/3", "--out", odd]);
  assert.equal(r.status, 0, r.stderr);
  const mixed = await runLab(["--merge", shards[0], odd, shards[2], "--out", path.join(dir, "mixed")]);
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr.trim(), /^lab: --merge: .*odd and .*shard-1 differ in their settings/);

  // A folder that is no shard's.
  writeFileSync(path.join(dir, "results.json"), "{}");
  const bad = await runLab(["--merge", dir, "--out", path.join(dir, "bad")]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr.trim(), /^lab: --merge: cannot read .*results\.json: not a lab results\.json$/);
});
