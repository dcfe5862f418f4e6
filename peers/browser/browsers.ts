import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import * as path from "node:path";

/** The browsers the lab drives (issue 19), as Debian installs them. */
export const browserKinds = ["chromium", "firefox"] as const;
export type BrowserKind = (typeof browserKinds)[number];

/** Their programs on PATH: Debian's chromium, and firefox-esr (or a firefox). */
const commands: Record<BrowserKind, string[]> = {
  chromium: ["chromium", "chromium-browser"],
  firefox: ["firefox-esr", "firefox"],
};

/** The Debian package that installs each. */
export const browserPackages: Record<BrowserKind, string> = { chromium: "chromium", firefox: "firefox-esr" };

/** The browser's version as it reports it ("Chromium 156.0...", "Mozilla Firefox 153.8.0esr"), or undefined. */
export function browserVersion(kind: BrowserKind): string | undefined {
  const file = browserExecutable(kind);
  if (!file) return undefined;
  const run = spawnSync(file, ["--version"], { encoding: "utf8", timeout: 20_000 });
  return run.stdout?.trim().split("\n").at(-1) || undefined;
}

/** The browser's program on PATH, or undefined where it is not installed. */
export function browserExecutable(kind: BrowserKind): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const command of commands[kind]) {
      const file = path.join(dir, command);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {}
    }
  }
  return undefined;
}
