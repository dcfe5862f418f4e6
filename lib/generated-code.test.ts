import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { projectRoot } from "../lab/engine/build.ts";
import { findPython } from "../lab/engine/python.ts";

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

// peers/pylib/gen/ is committed too: it must be what peers/pylib/generate.sh makes today (issue 12).
test("peers/pylib/gen/ matches a fresh npm run generate:python", (t) => {
  const python = findPython();
  if (!python) {
    t.skip("no Python 3 with grpcio here (scripts/install-debian.sh)");
    return;
  }
  const scratch = mkdtempSync(path.join(tmpdir(), "pygen-check-"));
  try {
    execFileSync("sh", [path.join(projectRoot, "peers", "pylib", "generate.sh"), scratch], {
      cwd: projectRoot,
      env: { ...process.env, PYTHON: python.path },
      stdio: "pipe",
    });
    const committed = path.join(projectRoot, "peers", "pylib", "gen");
    const names = (dir: string) =>
      readdirSync(dir)
        .filter((name) => name.endsWith(".py"))
        .sort();
    assert.deepEqual(names(committed), names(scratch));
    assert.ok(names(scratch).includes("chat_pb2_grpc.py"), names(scratch).join(", "));
    for (const name of names(scratch)) {
      assert.equal(
        readFileSync(path.join(committed, name), "utf8"),
        readFileSync(path.join(scratch, name), "utf8"),
        `peers/pylib/gen/${name} differs: run npm run generate:python`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
