import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { projectRoot } from "../lab/engine/build.ts";

// gen/ is committed; it must be exactly what `buf generate` makes from the .proto files today.
test("gen/ matches a fresh buf generate", () => {
  const scratch = mkdtempSync(path.join(tmpdir(), "gen-check-"));
  try {
    for (const file of ["chat.proto", "grpc", "buf.yaml", "buf.gen.yaml"])
      cpSync(path.join(projectRoot, file), path.join(scratch, file), { recursive: true });
    const bin = path.join(projectRoot, "node_modules", ".bin");
    execFileSync(path.join(bin, "buf"), ["generate"], {
      cwd: scratch,
      env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
      stdio: "pipe",
    });
    const files = (dir: string) =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(dir, path.join(entry.parentPath ?? entry.path, entry.name)))
        .sort();
    const fresh = files(path.join(scratch, "gen"));
    assert.deepEqual(files(path.join(projectRoot, "gen")), fresh);
    assert.ok(fresh.includes(path.join("grpc", "health", "v1", "health_pb.ts")), fresh.join(", "));
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
