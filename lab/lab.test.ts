/**
 * The lab as a user runs it: its CLI as a real process, --quick timings.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { proxyStacks, proxyVersions } from "./catalogue/proxies.ts";
import type { LabResults } from "./reports/results.ts";
import { assertLabOk, runLab, startLab } from "./testing/lab-cli.ts";
import { commandLine, descendants, processState } from "./testing/processes.ts";
import { ready } from "./testing/stacks.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "lab-test-"));
/** The proxies installed here (CI installs both: scripts/install-debian.sh). */
const proxies = proxyStacks.filter((p) => proxyVersions().get(p.id) !== undefined).map((p) => p.id);
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("npm run lab -- --quick", { concurrency: true }, () => {
  test("key cells give each stack's code, results.json has its shape, --check passes", async () => {
    const out = path.join(scratch, "key");
    const r = await runLab([
      "--quick",
      "--cases",
      "crash,suspend,suspend+keepalive",
      // The core stacks: the other stacks' codes are their own tests' (peers/*.test.ts).
      "--servers",
      "connect,grpc-js,grpcio",
      "--clients",
      "connect,grpc-js,grpcio",
      "--check",
      "--tables",
      "--json",
      "--out",
      out,
    ]);
    assertLabOk(r, out);
    const results = JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as LabResults;
    assert.deepEqual(JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")), results);

    // Shape: what the issues and the README promise.
    assert.deepEqual(Object.keys(results.meta).sort(), [
      "agents",
      "childCpu",
      "commit",
      "cpu",
      "labEventLoopDelayMs",
      "mode",
      "node",
      "processes",
      "profile",
      "selection",
      "settings",
      "startedAt",
      "tap",
      "versions",
      "wallMs",
    ]);
    assert.equal(results.meta.mode, "agents");
    assert.equal(results.meta.tap, true);
    // An agent per client stack; one fresh server per scene of the same fault: fewer processes than runs, where
    // --isolate starts two per run.
    // One agent per client stack.
    const stacks = ["connect/connect", "connect/grpc", "connect/grpc-web", "grpc-js/grpc"];
    if (await ready("grpcio/grpc")) stacks.push("grpcio/grpc");
    assert.deepEqual(results.meta.agents.map((a) => a.stack).sort(), stacks);
    const runs = results.cells.reduce((n, cell) => n + cell.runs.length, 0);
    assert.ok(results.meta.processes < runs, `${results.meta.processes} processes for ${runs} runs`);
    assert.ok(results.meta.cpu === null || results.meta.cpu.childrenMs > 0);
    assert.match(results.meta.versions["@connectrpc/connect-node"] ?? "", /^\d+\.\d+\.\d+$/);
    assert.equal(results.cells.length, 3 * ((await ready("grpcio/grpc")) ? 11 : 6));
    for (const cell of results.cells) {
      assert.deepEqual(Object.keys(cell), ["case", "server", "client", "protocol", "expected", "runs"]);
      assert.ok(cell.expected.evidence.length > 0, "every case states its evidence");
      assert.equal(cell.runs.length, 1);
      for (const run of cell.runs) {
        for (const key of ["code", "message", "received", "messages", "detectMs", "hung", "call", "timeline", "wire"])
          assert.ok(key in run, key);
        assert.deepEqual(run.evidence.missing, [], `${cell.case}: the fault's evidence`);
        // The tap: frames both ways, and TCP events on both legs.
        const wire = run.wire?.[0];
        assert.ok(wire, "a tapped connection");
        assert.ok(wire.frames.some((f) => f.dir === "c2s" && f.type === "HEADERS"));
        assert.ok(wire.frames.some((f) => f.dir === "s2c" && f.type === "DATA"));
        assert.ok(wire.tcp.some((e) => e.leg === "client" && e.event === "open"));
        assert.ok(wire.tcp.some((e) => e.leg === "server" && e.event === "open"));
        // One clock: 0 is the fault; for a killed server, when it was gone (its connection closed,
        // or its exit as the lab saw it, whichever came first), after the signal.
        const kill = run.timeline.faults.find((f) => f.what === "SIGKILL");
        const gone = run.timeline.faults.find((f) => f.what === "gone");
        if (kill && gone) assert.ok(kill.atMs <= 0 && gone.atMs >= 0, JSON.stringify(run.timeline.faults));
        else assert.equal(run.timeline.faults[0]?.atMs, 0);
      }
    }

    const code = (id: string, server: string, client: string, protocol: string) =>
      results.cells.find((c) => c.case === id && c.server === server && c.client === client && c.protocol === protocol)
        ?.runs[0].code;
    for (const server of ["connect", "grpc-js"]) {
      assert.ok(["canceled", "aborted"].includes(code("crash", server, "connect", "grpc") ?? ""));
      assert.equal(code("crash", server, "grpc-js", "grpc"), "unavailable");
      assert.equal(code("suspend", server, "grpc-js", "grpc"), "hang");
      assert.equal(code("suspend+keepalive", server, "connect", "grpc"), "unavailable");
      assert.equal(code("suspend+keepalive", server, "grpc-js", "grpc"), "unavailable");
    }
    for (const protocol of ["connect", "grpc-web"]) {
      assert.ok(["canceled", "aborted"].includes(code("crash", "connect", "connect", protocol) ?? ""));
      assert.equal(code("suspend", "connect", "connect", protocol), "hang");
    }
    assert.deepEqual(readdirSync(out).sort(), ["report.html", "report.md", "results.json"]);
    const html = readFileSync(path.join(out, "report.html"), "utf8");
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "report.html must open offline");
    assert.match(r.stderr, /\| crash \| (canceled|aborted)[^|]*\*/);
  });

  test("--diff of two real runs: the setting that changed, no outcome that did; an outcome changed by hand fails it", async () => {
    const run = async (keepalive: string, name: string) => {
      const out = path.join(scratch, name);
      const r = await runLab(
        [
          "--quick",
          "--cases",
          "suspend+keepalive,crash",
          "--servers",
          "connect",
          "--clients",
          "connect/grpc,grpc-js/grpc",
        ].concat(["--keepalive", keepalive, "--out", out]),
      );
      assertLabOk(r, out);
      return path.join(out, "results.json");
    };
    const [a, b] = await Promise.all([run("100/100", "diff-a"), run("150/150", "diff-b")]);
    const both = await runLab(["--diff", a, b]);
    assert.match(
      both.stdout,
      /^What differs in the setup:\n {2}setting keepalive: \{"intervalMs":100,"timeoutMs":100\} -> \{"intervalMs":150,"timeoutMs":150\}$/m,
    );
    // Exactly the cells whose codes differ between the two runs (on a loaded machine there may be
    // some), and exit 0 unless one of them has no race the catalogue names.
    const codes = (file: string) =>
      new Map(
        (JSON.parse(readFileSync(file, "utf8")) as LabResults).cells.map((c) => [
          `${c.case} ${c.server}<-${c.client}/${c.protocol}`,
          [...new Set(c.runs.map((r) => r.code))].sort().join(", "),
        ]),
      );
    const [ca, cb] = [codes(a), codes(b)];
    const changed = [...ca].filter(([k, v]) => cb.get(k) !== v).map(([k]) => k);
    assert.match(both.stdout, new RegExp(`^${changed.length} cell\\(s\\) ended differently`, "m"), both.stdout);
    for (const name of changed) assert.ok(both.stdout.includes(`  ${name}: A `), name);
    assert.equal(both.status, /, 0 with no race/.test(both.stdout) ? 0 : 1, both.stdout);
    // The same run with one cell's code changed: a difference no race names.
    const edited = JSON.parse(readFileSync(a, "utf8")) as LabResults;
    const cell = edited.cells.find((c) => c.case === "suspend+keepalive" && c.client === "grpc-js");
    if (!cell) throw new Error("no suspend+keepalive cell for grpc-js");
    cell.runs[0].code = "internal";
    const c = path.join(scratch, "diff-c.json");
    writeFileSync(c, JSON.stringify(edited));
    const differ = await runLab(["--diff", a, c]);
    assert.equal(differ.status, 1, differ.stdout + differ.stderr);
    assert.match(
      differ.stdout,
      /^1 cell\(s\) ended differently, 1 with no race the catalogue names:\n {2}suspend\+keepalive connect<-grpc-js\/grpc: A unavailable \| B internal$/m,
    );
  });

  test("bad lab flags: one line naming the flag and what it accepts, exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["--cases", "crash,meteor-strike"],
        /^lab: --cases: unknown "meteor-strike"; choose from the groups process, .*\(--list shows every case\)$/,
      ],
      [
        ["--servers", "nginx"],
        /^lab: --servers: unknown "nginx"; choose from connect, grpc-js, grpcio, connect-go, grpc-go, grpc-java, tonic, fault-peer$/,
      ],
      [["--clients", "curl/grpc"], /^lab: --clients: unknown "curl\/grpc"; choose from connect\/grpc, /],
      [["--repeat", "-1"], /^lab: --repeat must be a whole number from 1 to 100, got "-1"$/],
      [["--interval-ms", "soon"], /^lab: --interval-ms must be a whole number >= 1, got "soon"$/],
      [["--keepalive", "fast"], /^lab: --keepalive must be INTERVAL\/TIMEOUT in ms/],
      [["--quick", "--watchdog-ms", "100"], /--watchdog-ms must exceed the slowest remedy's bound/],
      [["--meteor"], /^lab: Unknown option '--meteor'/],
      [["--isolate", "--compare"], /^lab: --isolate and --compare: choose one$/],
      [["--diff", "a.json"], /^lab: --diff takes two results.json files and no other flag/],
      [["--diff", "no-such-a.json", "no-such-b.json"], /^lab: --diff: cannot read no-such-a.json: ENOENT/],
    ];
    const results = await Promise.all(cases.map(([args]) => runLab(args)));
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 2, cases[i][0].join(" "));
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr.trim(), cases[i][1]);
    }
  });

  test("Ctrl-C in the middle of a run leaves no process the lab started: agents, servers started ahead, suspended ones, backends", async () => {
    const { status, stderr, left, agents, proxiesSeen, leftDirs } = await interruptWithSuspendedServers(
      "SIGINT",
      "interrupted",
    );
    assert.equal(status, 130, stderr);
    assert.deepEqual(proxiesSeen, proxies, "the proxies were running");
    assert.match(stderr, /SIGINT: ending \d+ process\(es\)/);
    assert.ok(agents >= 2, `saw ${agents} client agents`);
    assert.deepEqual(left, [], `processes left behind: ${left.join(", ")}`);
    assert.deepEqual(leftDirs, [], "the proxies' folders are gone");
  });

  test("SIGTERM in the middle of a run: the same, exit 143", async () => {
    const { status, stderr, left, agents, proxiesSeen, leftDirs } = await interruptWithSuspendedServers(
      "SIGTERM",
      "terminated",
    );
    assert.equal(status, 143, stderr);
    assert.deepEqual(proxiesSeen, proxies, "the proxies were running");
    assert.ok(agents >= 2, `saw ${agents} client agents`);
    assert.deepEqual(left, [], `processes left behind: ${left.join(", ")}`);
    assert.deepEqual(leftDirs, [], "the proxies' folders are gone");
  });

  test("SIGKILL to the lab: within 5 s no process it started is left, suspended ones included", async () => {
    // No handler of the lab runs: the supervisor (lab/supervisor.ts) sees its stdin close and ends the rest.
    const { status, left, agents, proxiesSeen } = await interruptWithSuspendedServers("SIGKILL", "killed");
    assert.equal(status, null);
    assert.deepEqual(proxiesSeen, proxies, "the proxies were running");
    assert.ok(agents >= 2, `saw ${agents} client agents`);
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
): Promise<{
  status: number | null;
  stderr: string;
  left: string[];
  agents: number;
  proxiesSeen: string[];
  /** The lab's folders left in its temp dir (a proxy's config and logs). */
  leftDirs: string[];
}> {
  // Many scenes of suspended servers, so that some are started ahead while others run; behind each
  // proxy too, so that the proxies run when the signal comes (issue 14); and channels on three
  // backends each, one of them suspended (issue 17).
  const cases = ["suspend", "normal", "backends-suspend", ...proxies.map((p) => `${p}/suspend`)].join(",");
  // Servers that start in moments, so that some are suspended soon: a run's repeats share one
  // suspended server, so it takes servers of three stacks to have two stopped at once.
  // A temp dir of its own: what the lab leaves there is this run's, and goes with the scratch dir
  // (a SIGKILLed lab leaves its proxies' folders: no handler of its runs).
  const tmp = mkdtempSync(path.join(scratch, `${out}-tmp-`));
  const lab = startLab(
    [
      "--quick",
      "--cases",
      cases,
      "--servers",
      "connect,grpc-js,grpc-go",
      "--clients",
      "connect,grpc-js",
      "--repeat",
      "6",
      "--out",
      path.join(scratch, out),
    ],
    { ...process.env, TMPDIR: tmp },
  );
  const pid = lab.pid ?? -1;
  const seen = new Set<number>();
  const seenCommands = new Map<number, string>();
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
    const proxiesUp = () =>
      proxies.every((proxy) => [...seenCommands.values()].some((command) => command.startsWith(proxy)));
    // (Up to 60 s: beside the suite's other files, a proxy's first scene has come 20 s in.)
    for (let tries = 0; tries < 2400 && (stopped < 2 || !proxiesUp()); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      for (const child of descendants(pid)) {
        if (!seen.has(child)) seenCommands.set(child, commandLine(child));
        seen.add(child);
      }
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
    const agents = [...seen].filter((p) => seenCommands.get(p)?.includes("--agent")).length;
    const proxiesSeen = proxies.filter((proxy) =>
      [...seenCommands.values()].some((command) => command.startsWith(proxy)),
    );
    return {
      status,
      stderr,
      left: left.map((p) => `${p} ${processState(p)} ${commandLine(p)}`),
      agents,
      proxiesSeen,
      leftDirs: readdirSync(tmp).filter((name) => name.startsWith("lab-")),
    };
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
