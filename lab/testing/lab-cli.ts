import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { projectRoot } from "../engine/build.ts";
import type { LabResults } from "../reports/results.ts";

/** Starts the lab's CLI as a user runs it (`npm run lab -- ARGS`), as a real process. */
export function startLab(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", path.join(projectRoot, "lab", "main.ts"), ...args], {
    cwd: projectRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface LabExit {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the lab's CLI to its end, or for at most `timeoutMs` (then SIGTERM,
 * which ends it and every process it started, and the exit says so): a lab
 * that never ends must fail its test, not hang the suite.
 */
export async function runLab(args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 150_000): Promise<LabExit> {
  const lab = startLab(args, env);
  const timer = setTimeout(() => {
    stderr += `\n(the test gave up on the lab after ${timeoutMs / 1000} s and sent it SIGTERM)\n`;
    lab.kill("SIGTERM");
  }, timeoutMs);
  let stdout = "";
  let stderr = "";
  lab.stdout?.setEncoding("utf8").on("data", (s: string) => {
    stdout += s;
  });
  lab.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  const status = await new Promise<number | null>((resolve) => lab.on("close", resolve));
  clearTimeout(timer);
  return { status, stdout, stderr };
}

/**
 * Asserts the lab exited 0. When it did not, its reports (`out`, which a
 * test's scratch folder would delete) are copied to a folder of their own
 * that stays, and the failure names it beside the lab's stderr, where
 * --check lists every cell outside its outcomes and every lab error's
 * reason (issue 22).
 */
/**
 * Runs the lab with `--check --json --out OUT` after `args`, requires it to
 * pass (assertLabOk) and gives back its results.json, as it printed it.
 */
export async function runLabChecked(args: string[], out: string): Promise<LabResults> {
  const r = await runLab([...args, "--check", "--json", "--out", out]);
  assertLabOk(r, out);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as LabResults;
}

export function assertLabOk(r: LabExit, out: string): void {
  assert.doesNotMatch(r.stderr, /still open after the run/, "the lab left a handle open");
  if (r.status === 0) return;
  let kept = "";
  if (existsSync(out)) {
    kept = mkdtempSync(path.join(tmpdir(), "lab-test-kept-"));
    cpSync(out, kept, { recursive: true });
  }
  assert.fail(`the lab exited ${r.status}${kept ? `; its reports are kept in ${kept}` : ""}\n${r.stderr}`);
}
