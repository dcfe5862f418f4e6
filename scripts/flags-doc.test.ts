/**
 * docs/flags.md is what the programs' --help says today: the reference
 * cannot drift from the code (regenerate with npm run docs:flags).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ready } from "../lab/testing/stacks.ts";
import { flagsDoc, flagsDocPath, helpOf, programs } from "./flags-doc.ts";

test("docs/flags.md matches every program's --help", async () => {
  const committed = readFileSync(flagsDocPath, "utf8");
  const here = await Promise.all(programs.map((p) => (p.built ? ready(p.built.stack) : true)));
  if (here.every(Boolean)) {
    assert.equal(committed, await flagsDoc(), "docs/flags.md is stale: npm run docs:flags");
    return;
  }
  // Without some toolchain, the programs that are here at least.
  for (const program of programs.filter((_, i) => here[i])) {
    assert.ok(
      committed.includes(await helpOf(program)),
      `${program.file}: docs/flags.md is stale (npm run docs:flags)`,
    );
  }
});
