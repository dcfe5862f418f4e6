import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { projectRoot } from "../lab/build.ts";

// gen/ is committed; it must be exactly what `buf generate` makes from chat.proto today.
test("gen/ matches a fresh buf generate", () => {
  const scratch = mkdtempSync(path.join(tmpdir(), "gen-check-"));
  try {
    for (const file of ["chat.proto", "buf.yaml", "buf.gen.yaml"])
      cpSync(path.join(projectRoot, file), path.join(scratch, file));
    const bin = path.join(projectRoot, "node_modules", ".bin");
    execFileSync(path.join(bin, "buf"), ["generate"], {
      cwd: scratch,
      env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
      stdio: "pipe",
    });
    const fresh = readdirSync(path.join(scratch, "gen")).sort();
    assert.deepEqual(readdirSync(path.join(projectRoot, "gen")).sort(), fresh);
    for (const file of fresh) {
      assert.equal(
        readFileSync(path.join(projectRoot, "gen", file), "utf8"),
        readFileSync(path.join(scratch, "gen", file), "utf8"),
        `gen/${file} differs from buf generate: run npm run generate`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
