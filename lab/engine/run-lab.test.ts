/** What a run starts before its first scene (issue 29): only what its runs use. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { runLabChecked } from "../testing/lab-cli.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "run-lab-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

test("a run whose calls are all client processes starts no client agent", async () => {
  // The server's view of a client crash: each run's client is a process the fault kills.
  const r = await runLabChecked(
    ["--quick", "--cases", "client-crash", "--servers", "connect"],
    path.join(scratch, "a"),
  );
  const runs = r.cells.flatMap((c) => c.runs);
  assert.ok(runs.length > 0);
  assert.ok(runs.every((run) => run.caller === "process"));
  assert.deepEqual(r.meta.agents, []);
  assert.deepEqual(
    Object.keys(r.meta.childCpu ?? {}).filter((account) => account.endsWith(" agent")),
    [],
    "no agent process was started",
  );
});
