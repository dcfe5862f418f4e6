/**
 * The engines the full matrix runs on (issue 29) are checked by validators of their own: the
 * Kubernetes manifests against the Kubernetes API's schemas (kubernetes-models), the GitHub
 * Actions workflow with actionlint (pinned in scripts/tools/go.mod); and both say what the lab
 * does: every shard of N once, then one merge of their folders.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { parseAllDocuments } from "yaml";
import { projectRoot } from "../lab/engine/build.ts";
import { toolchainVersion } from "../lab/engine/peer-builds.ts";

const documents = (file: string) =>
  parseAllDocuments(readFileSync(path.join(projectRoot, file), "utf8")).map((d) => d.toJS() as Record<string, unknown>);

test("the Kubernetes manifests are valid objects: an Indexed Job of shards, a volume they share, a merge", () => {
  const [claim, job] = documents("deploy/kubernetes/full-matrix.yaml");
  new PersistentVolumeClaim(claim as never).validate();
  const indexed = new Job(job as never);
  indexed.validate();
  const spec = indexed.spec;
  assert.equal(spec?.completionMode, "Indexed");
  const count = spec?.completions ?? 0;
  assert.ok(count > 1 && spec?.parallelism === count);
  const command = (spec?.template.spec?.containers[0].args ?? []).join(" ");
  assert.match(command, new RegExp(`--shard "\\$\\(\\(JOB_COMPLETION_INDEX \\+ 1\\)\\)/${count}"`));
  assert.match(command, /--full/);
  const [merge] = documents("deploy/kubernetes/merge.yaml");
  const mergeJob = new Job(merge as never);
  mergeJob.validate();
  assert.match(
    (mergeJob.spec?.template.spec?.containers[0].args ?? []).join(" "),
    /--merge \/results\/shard-\* .*--check/,
  );
});

test("the GitHub Actions workflow passes actionlint, and runs every shard of N then the merge", (t) => {
  if (toolchainVersion("go") === null) return t.skip("no Go toolchain here (actionlint is a Go tool)");
  const file = path.join(projectRoot, ".github", "workflows", "full-matrix.yml");
  execFileSync("go", ["-C", path.join(projectRoot, "scripts", "tools"), "tool", "actionlint", "-no-color", file], {
    stdio: "pipe",
  });
  const [workflow] = documents(".github/workflows/full-matrix.yml") as {
    jobs: Record<string, { strategy?: { matrix: { shard: number[] } }; steps: { run?: string }[]; needs?: string }>;
  }[];
  const shards = workflow.jobs.shard.strategy?.matrix.shard ?? [];
  assert.deepEqual(
    shards,
    Array.from({ length: shards.length }, (_, i) => i + 1),
  );
  const run = workflow.jobs.shard.steps.map((s) => s.run ?? "").join("\n");
  assert.match(run, new RegExp(`--full --shard \\$\\{\\{ matrix.shard \\}\\}/${shards.length}`));
  assert.equal(workflow.jobs.merge.needs, "shard");
  assert.match(workflow.jobs.merge.steps.map((s) => s.run ?? "").join("\n"), /--merge shards\/shard-\* .*--check/);
});
