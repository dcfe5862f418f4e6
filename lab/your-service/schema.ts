import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { UsageError } from "../../lib/cli.ts";
import { projectRoot } from "../engine/build.ts";

/** Where the schema of the user's method comes from (issue 28): one of these. */
export interface SchemaSource {
  /** .proto files, found under `protoPaths`. */
  protos?: readonly string[];
  /** Import roots for `protos`. Default: the current directory. */
  protoPaths?: readonly string[];
  /** A binary FileDescriptorSet with imports (buf build -o, protoc --descriptor_set_out --include_imports). */
  descriptorSet?: string;
}

/**
 * The .proto files compiled into one binary FileDescriptorSet with their
 * imports, by the project's own buf (@bufbuild/buf, pinned): a workspace in a
 * scratch folder whose modules are links to the import roots, so that any
 * number of roots resolve as protoc's -I would. Returns the set's path; a
 * UsageError in one line when a file is missing or does not compile.
 */
export function compileProtos(protos: readonly string[], protoPaths: readonly string[], dir: string): string {
  const roots = (protoPaths.length > 0 ? protoPaths : ["."]).map((p) => path.resolve(p));
  for (const root of roots) if (!existsSync(root)) throw new UsageError(`--proto-path: no folder ${root}`);
  const paths = protos.map((proto) => {
    const file = path.resolve(proto);
    if (!existsSync(file)) throw new UsageError(`--proto: no file ${proto}`);
    const i = roots.findIndex((root) => file.startsWith(`${root}${path.sep}`));
    if (i < 0)
      throw new UsageError(`--proto: ${proto} is under none of the --proto-path folders (${roots.join(", ")})`);
    return path.join(`root${i}`, path.relative(roots[i], file));
  });
  const scratch = mkdtempSync(path.join(tmpdir(), "lab-schema-"));
  for (const [i, root] of roots.entries()) symlinkSync(root, path.join(scratch, `root${i}`));
  writeFileSync(
    path.join(scratch, "buf.yaml"),
    `version: v2\nmodules:\n${roots.map((_, i) => `  - path: root${i}\n`).join("")}`,
  );
  const out = path.join(path.resolve(dir), "schema.binpb");
  try {
    execFileSync(
      path.join(projectRoot, "node_modules", ".bin", "buf"),
      ["build", ...paths.flatMap((p) => ["--path", p]), "-o", out],
      { cwd: scratch, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" },
    );
  } catch (e) {
    // buf names the files by their module: root0/... is the first --proto-path's.
    let said = `${(e as { stderr?: string }).stderr ?? ""}`.trim().split("\n")[0] || (e as Error).message;
    for (const [i, root] of roots.entries()) said = said.replaceAll(`root${i}${path.sep}`, `${root}${path.sep}`);
    throw new UsageError(`--proto: ${said}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return out;
}
