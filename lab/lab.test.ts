/**
 * The lab as a user runs it: its CLI as a real process, --quick timings.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { projectRoot } from "./engine/build.ts";
import { procStat } from "./engine/proc-stat.ts";
import type { LabResults } from "./reports/results.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "lab-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function startLab(args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", path.join(projectRoot, "lab", "main.ts"), ...args], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function runLab(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const lab = startLab(args);
  let stdout = "";
  let stderr = "";
  lab.stdout?.setEncoding("utf8").on("data", (s: string) => {
    stdout += s;
  });
  lab.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  const status = await new Promise<number | null>((resolve) => lab.on("close", resolve));
  return { status, stdout, stderr };
}

describe("npm run lab -- --quick", { concurrency: true }, () => {
  test("key cells give each stack's code, results.json has its shape, --check passes", async () => {
    const out = path.join(scratch, "key");
    const r = await runLab([
      "--quick",
      "--cases",
      "crash,suspend,suspend+keepalive",
      "--check",
      "--json",
      "--out",
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as LabResults;
    assert.deepEqual(JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")), results);

    // Shape: what the issue and the README promise.
    assert.deepEqual(Object.keys(results.meta).sort(), [
      "cpu",
      "node",
      "processes",
      "settings",
      "startedAt",
      "versions",
      "wallMs",
    ]);
    // Every run started a server and a client (the supervisor, started once, is not counted).
    assert.equal(results.meta.processes, 2 * results.cells.length);
    assert.ok(results.meta.cpu === null || results.meta.cpu.childrenMs > 0);
    assert.match(results.meta.versions["@connectrpc/connect-node"] ?? "", /^\d+\.\d+\.\d+$/);
    assert.equal(results.cells.length, 3 * 6);
    for (const cell of results.cells) {
      assert.deepEqual(Object.keys(cell), ["case", "server", "client", "protocol", "expected", "runs"]);
      assert.equal(cell.runs.length, 1);
      for (const run of cell.runs) {
        for (const key of ["code", "message", "received", "messages", "detectMs", "hung", "exitMs", "call"])
          assert.ok(key in run, key);
      }
    }

    const code = (id: string, server: string, client: string, protocol: string) =>
      results.cells.find((c) => c.case === id && c.server === server && c.client === client && c.protocol === protocol)
        ?.runs[0].code;
    for (const server of ["connect", "grpc-js"]) {
      assert.equal(code("crash", server, "connect", "grpc"), "canceled");
      assert.equal(code("crash", server, "grpc-js", "grpc"), "unavailable");
      assert.equal(code("suspend", server, "grpc-js", "grpc"), "hang");
      assert.equal(code("suspend+keepalive", server, "connect", "grpc"), "unavailable");
      assert.equal(code("suspend+keepalive", server, "grpc-js", "grpc"), "unavailable");
    }
    for (const protocol of ["connect", "grpc-web"]) {
      assert.equal(code("crash", "connect", "connect", protocol), "canceled");
      assert.equal(code("suspend", "connect", "connect", protocol), "hang");
    }
    assert.deepEqual(readdirSync(out).sort(), ["report.html", "report.md", "results.json"]);
    const html = readFileSync(path.join(out, "report.html"), "utf8");
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "report.html must open offline");
    assert.match(r.stderr, /\| crash \| canceled \d+ ms \*/);
  });

  test("bad lab flags: one line naming the flag and what it accepts, exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["--cases", "crash,meteor-strike"],
        /^lab: --cases: unknown "meteor-strike"; choose from normal, .*, or a group: process, /,
      ],
      [["--servers", "nginx"], /^lab: --servers: unknown "nginx"; choose from connect, grpc-js, fault-peer$/],
      [["--clients", "curl/grpc"], /^lab: --clients: unknown "curl\/grpc"; choose from connect\/grpc, /],
      [["--repeat", "-1"], /^lab: --repeat must be a whole number from 1 to 100, got "-1"$/],
      [["--interval-ms", "soon"], /^lab: --interval-ms must be a whole number >= 1, got "soon"$/],
      [["--keepalive", "fast"], /^lab: --keepalive must be INTERVAL\/TIMEOUT in ms/],
      [["--quick", "--watchdog-ms", "100"], /--watchdog-ms must exceed the slowest remedy's bound/],
      [["--meteor"], /^lab: Unknown option '--meteor'/],
    ];
    const results = await Promise.all(cases.map(([args]) => runLab(args)));
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 2, cases[i][0].join(" "));
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr.trim(), cases[i][1]);
    }
  });

  test("Ctrl-C in the middle of a run leaves no process the lab started, suspended ones included", async () => {
    const { status, stderr, left } = await interruptWithSuspendedServers("SIGINT", "interrupted");
    assert.equal(status, 130, stderr);
    assert.match(stderr, /SIGINT: ending \d+ process\(es\)/);
    assert.deepEqual(left, [], `processes left behind: ${left.join(", ")}`);
  });

  test("SIGKILL to the lab: within 5 s no process it started is left, suspended ones included", async () => {
    // No handler of the lab runs: the supervisor (lab/supervisor.ts) sees its stdin close and ends the rest.
    const { status, left } = await interruptWithSuspendedServers("SIGKILL", "killed");
    assert.equal(status, null);
    assert.deepEqual(left, [], `processes left behind 5 s after the lab died: ${left.join(", ")}`);
  });
});

/**
 * Starts the lab on the suspend case, waits until at least two of its servers
 * are stopped (SIGSTOP), sends `signal` to the lab, and after up to 5 s lists
 * the processes it started that are still there (zombies count as gone:
 * they hold nothing but a pid until their new parent reaps them).
 */
async function interruptWithSuspendedServers(
  signal: NodeJS.Signals,
  out: string,
): Promise<{ status: number | null; stderr: string; left: string[] }> {
  const lab = startLab(["--quick", "--cases", "suspend", "--repeat", "4", "--out", path.join(scratch, out)]);
  const pid = lab.pid ?? -1;
  const seen = new Set<number>();
  let stderr = "";
  lab.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  const closed = new Promise<number | null>((resolve) => lab.on("close", resolve));
  const alive = (p: number) => {
    const state = processState(p);
    return state !== undefined && state !== "Z";
  };
  try {
    // Collect every descendant until some of the servers are suspended, then interrupt.
    let stopped = 0;
    for (let tries = 0; tries < 800 && stopped < 2; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      for (const child of descendants(pid)) seen.add(child);
      stopped = [...seen].filter((p) => processState(p) === "T").length;
    }
    assert.ok(stopped >= 2, `saw ${stopped} suspended servers among ${seen.size} processes`);
    lab.kill(signal);
    const status = await closed;
    // A helper that ends by itself once the lab is gone (tsx's esbuild service sees its stdin
    // close, our supervisor ends the rest) may take a moment; 5 s is the bound we promise.
    let left = [...seen];
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = left.filter(alive);
    }
    return { status, stderr, left: left.map((p) => `${p} ${processState(p)} ${commandLine(p)}`) };
  } finally {
    // Whatever failed above, the lab and everything it started end with the test.
    if (lab.exitCode === null && lab.signalCode === null) {
      lab.kill("SIGKILL");
      await closed;
    }
    for (const p of seen) {
      if (!alive(p)) continue;
      try {
        process.kill(p, "SIGCONT");
        process.kill(p, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
  }
}

/** The state letter of a process (R, S, T, Z, ...), or undefined when it is gone. */
const processState = (pid: number): string | undefined => procStat(pid)?.[0];

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "(gone)";
  }
}

/** Every living descendant of a process, read from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = procStat(Number(entry))?.[1];
    // Gone while we looked: no parent to note.
    if (ppid !== undefined) parents.set(Number(entry), Number(ppid));
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}
