import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { projectRoot } from "../lab/engine/build.ts";
import { type Toolchain, toolchainVersion } from "../lab/engine/peer-builds.ts";
import { ready } from "../lab/testing/stacks.ts";

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

/**
 * Each peer's generated code is committed too (issues 12, 27): it must be what the peer's
 * generate.sh makes today, with the generators its own lock files pin. A peer whose toolchain
 * is not here is skipped, as the lab skips its stacks.
 */
const generators: { dir: string; toolchain: Toolchain; outputs: string[] }[] = [
  { dir: "peers/connect-go", toolchain: "go", outputs: ["gen"] },
  { dir: "peers/grpc-go", toolchain: "go", outputs: ["gen"] },
  { dir: "peers/grpc-java", toolchain: "maven", outputs: ["src/generated/java"] },
  { dir: "peers/tonic", toolchain: "cargo", outputs: ["src/gen"] },
  { dir: "peers/grpcio", toolchain: "python", outputs: ["gen", "gen_debian12"] },
  // The worked example of docs/your-service.md, generated with the grpcio venv's grpcio-tools.
  { dir: "examples/prices", toolchain: "python", outputs: ["gen"] },
];

for (const { dir, toolchain, outputs } of generators) {
  test(`${dir}: ${outputs.join(", ")} match a fresh generate.sh`, async (t) => {
    if (toolchainVersion(toolchain) === null) return t.skip(`no ${toolchain} toolchain here`);
    // The grpcio generator runs on the venv the lab builds, and Debian's grpc-tools for gen_debian12.
    if (toolchain === "python" && !(await ready("grpcio/grpc"))) return t.skip("the grpcio venv is not built");
    const scratch = mkdtempSync(path.join(tmpdir(), "peer-gen-check-"));
    try {
      execFileSync("sh", [path.join(projectRoot, dir, "generate.sh"), scratch], { cwd: projectRoot, stdio: "pipe" });
      const files = (base: string) =>
        existsSync(base)
          ? readdirSync(base, { recursive: true, withFileTypes: true })
              .filter((entry) => entry.isFile())
              .map((entry) => path.relative(base, path.join(entry.parentPath ?? entry.path, entry.name)))
              .sort()
          : [];
      for (const output of outputs) {
        const fresh = files(path.join(scratch, output));
        assert.ok(fresh.length > 0, `${dir}/generate.sh wrote nothing to ${output}`);
        assert.deepEqual(files(path.join(projectRoot, dir, output)), fresh);
        for (const file of fresh) {
          assert.equal(
            readFileSync(path.join(projectRoot, dir, output, file), "utf8"),
            readFileSync(path.join(scratch, output, file), "utf8"),
            `${dir}/${output}/${file} differs from a fresh generate.sh: run npm run generate:peers`,
          );
        }
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}
