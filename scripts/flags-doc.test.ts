/**
 * docs/flags.md is what the programs' --help says today: the reference
 * cannot drift from the code (regenerate with npm run docs:flags).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { findPython } from "../lab/engine/python.ts";
import { flagsDoc, flagsDocPath, helpOf, programs } from "./flags-doc.ts";

test("docs/flags.md matches every program's --help", async () => {
  const committed = readFileSync(flagsDocPath, "utf8");
  if (findPython() !== null) {
    assert.equal(committed, await flagsDoc(), "docs/flags.md is stale: npm run docs:flags");
    return;
  }
  // Without grpcio, the Node programs at least.
  for (const program of programs.filter((p) => !p.python)) {
    assert.ok(
      committed.includes(await helpOf(program)),
      `${program.file}: docs/flags.md is stale (npm run docs:flags)`,
    );
  }
});
