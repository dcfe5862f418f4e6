import { mkdir, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, stop } from "esbuild";
import { pageBundleOptions } from "../../peers/browser/page-bundle.ts";
import { type Release, releaseBundle, releasesDir } from "../catalogue/releases.ts";

/** The project's top-level folder. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The programs the lab starts, by their source path. */
export const entries = [
  "server",
  "client",
  "peers/grpc-js-server",
  "peers/grpc-js-client",
  "peers/fault-peer",
  "peers/browser-client",
  "lab/engine/supervisor",
  "bench/throughput-driver",
] as const;
/** The script of the browser stacks' page (peers/browser/page.ts), bundled for the browser. */
export const pageBundle = path.join(projectRoot, "dist", "peers", "browser", "page.js");

/** A Node program of the lab's, by its source path (the other languages' programs: programs.ts). */
export type NodeEntry = (typeof entries)[number];
/** @deprecated the name of NodeEntry before programs in other languages (issue 27). */
export type Entry = NodeEntry;

/** Where the bundle of a Node program lands. */
export function bundlePath(entry: NodeEntry): string {
  return path.join(projectRoot, "dist", `${entry}.cjs`);
}

/**
 * Bundles the programs into dist/*.cjs with esbuild. The lab spawns
 * hundreds of processes, and a process that loads tsx takes ~0.5 s to start
 * where a bundle takes ~0.15 s (measured on 2 cores; see bench/). Each file
 * is written aside and renamed into place, so builds running side by side
 * (parallel test files) never expose a half-written bundle.
 */
export function buildEntries(): Promise<void> {
  // Once per process: esbuild's stop() would strand a second build under way.
  built ??= buildOnce();
  return built;
}

let built: Promise<void> | undefined;

const common: BuildOptions = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  write: false,
  logLevel: "error",
  // The browser driver's own: puppeteer-core finds its parts at run time; esbuild builds a page.
  external: ["puppeteer-core", "esbuild"],
};

async function buildOnce(): Promise<void> {
  const result = await build({
    ...common,
    entryPoints: entries.map((entry) => path.join(projectRoot, `${entry}.ts`)),
    outbase: projectRoot,
    outdir: path.join(projectRoot, "dist"),
    outExtension: { ".js": ".cjs" },
  });
  const page = await build({
    ...pageBundleOptions(path.join(projectRoot, "peers", "browser", "page.ts")),
    outfile: pageBundle,
  });
  // esbuild keeps a service process for later builds; there will be none.
  await stop();
  await writeOutputs([...(result.outputFiles ?? []), ...(page.outputFiles ?? [])]);
}

/**
 * Bundles each release's agent (--versions, issue 18): the same program with
 * the release's packages in place of the project's, taken from
 * releases/node_modules under their npm aliases (esbuild `alias`), so that
 * a release and the peers it depends on are its own throughout the bundle.
 */
export async function buildReleaseEntries(list: readonly Release[]): Promise<void> {
  for (const release of list) {
    // A release that is a program of its own (Debian's grpcio) has nothing to bundle.
    if (!release.entry) continue;
    const result = await build({
      ...common,
      entryPoints: [path.join(projectRoot, `${release.entry}.ts`)],
      outfile: releaseBundle(release),
      alias: release.alias,
      nodePaths: [path.join(releasesDir, "node_modules")],
    });
    await writeOutputs(result.outputFiles ?? []);
  }
  await stop();
}

async function writeOutputs(files: readonly { path: string; contents: Uint8Array }[]): Promise<void> {
  await Promise.all(
    files.map(async (file) => {
      await mkdir(path.dirname(file.path), { recursive: true });
      const aside = `${file.path}.${process.pid}.tmp`;
      await writeFile(aside, file.contents);
      await rename(aside, file.path);
    }),
  );
}
