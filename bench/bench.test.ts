/**
 * `npm run bench -- --quick` as a user runs it: the report's shape, not its
 * speed (speed is judged by the figures in bench/RESULTS.md, on a quiet machine).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { clientStacks } from "../lab/catalogue/stacks.ts";
import { projectRoot } from "../lab/engine/build.ts";

interface SummaryShape {
  median: number;
  min: number;
  max: number;
  n: number;
}

function assertSummary(s: SummaryShape, what: string): void {
  assert.ok(s.n >= 1, `${what}: no sample`);
  assert.ok(Number.isFinite(s.median) && s.min <= s.median && s.median <= s.max, `${what}: ${JSON.stringify(s)}`);
}

test("npm run bench -- --quick: every section's table, and results.json with its figures", async () => {
  const out = mkdtempSync(path.join(tmpdir(), "bench-test-"));
  try {
    const bench = spawn(
      process.execPath,
      ["--import", "tsx", path.join(projectRoot, "bench", "main.ts"), "--quick", "--out", out],
      {
        cwd: projectRoot,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    bench.stdout?.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    bench.stderr?.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    const status = await new Promise<number | null>((resolve) => bench.on("close", resolve));
    assert.equal(status, 0, stderr);
    for (const heading of [
      "Detection latency",
      "Process start",
      "Lab cost",
      "Server throughput",
      "Memory with",
      "Slow readers",
    ]) {
      assert.match(stdout, new RegExp(`^${heading}`, "m"));
    }

    const r = JSON.parse(readFileSync(path.join(out, "results.json"), "utf8"));
    assert.equal(r.meta.quick, true);
    assert.ok(r.meta.machine.cores >= 1 && r.meta.node.startsWith("v"));
    assert.ok(r.meta.versions["@connectrpc/connect-node"] && r.meta.versions["@grpc/grpc-js"]);

    assert.ok(r.detection.agents.length >= 3);
    assert.equal(r.detection.isolated.length, r.detection.agents.length, "every cell both ways");
    for (const row of [...r.detection.agents, ...r.detection.isolated]) {
      assert.match(row.remedy, /^(keepalive|deadline|idle-timeout)$/);
      assert.equal(row.runs, 2, "quick detection figures are medians of 2 runs");
      assertSummary(row.ratio, `${row.case} ${row.client} ratio`);
      // A client that keeps its PINGs further apart than it is told (grpcio: ~1 s) may have one in
      // flight when the fault comes: it then detects within the timeout alone, well under its bound.
      const floor = clientStacks.find((c) => c.id === row.client)?.keepaliveFloorMs;
      const low = row.remedy === "keepalive" && floor !== undefined ? 0 : 0.3;
      assert.ok(row.ratio.median > low && row.ratio.median < 3, `${row.case} ${row.client}: ratio ${row.ratio.median}`);
    }

    assert.deepEqual(r.startup.rows.map((row: { program: string }) => row.program).sort(), [
      "client",
      "peers/fault-peer",
      "peers/grpc-js-client",
      "peers/grpc-js-server",
      "server",
    ]);
    for (const row of r.startup.rows) assertSummary(row.ms, row.program);

    // Agents, --isolate (which starts a server and a client for every run), then with and without the tap.
    const [agents, isolated, tapped, bare] = r.lab.rows;
    assert.deepEqual(isolated.args.slice(-1), ["--isolate"]);
    assert.deepEqual(bare.args.slice(-1), ["--no-tap"]);
    assert.equal(tapped.runs, bare.runs);
    assert.ok(isolated.runs > 0 && isolated.processes >= 2 * isolated.runs);
    assert.ok(agents.runs === isolated.runs && agents.processes < isolated.processes);
    for (const row of r.lab.rows) assert.ok(row.wallMs > 0 && row.childrenCpuMs > 0);

    // report.html of the lab section's first run, opened in Debian's Chromium where it is installed.
    if (existsSync("/usr/bin/chromium")) {
      assert.match(stdout, /^report\.html in Chromium/m);
      assert.equal(r.report.loadMs.length, 2);
      assert.deepEqual(r.report.errors, []);
      assert.ok(r.report.htmlBytes > 0 && r.report.runs === agents.runs);
    }

    assert.equal(r.throughput.rows.length, 4, "2 clients x 2 concurrencies");
    for (const row of r.throughput.rows) {
      assert.ok([1, 16].includes(row.streams));
      assertSummary(row.grpcJsServer, `grpc-js server, ${row.client}, ${row.streams} streams`);
      assertSummary(row.connectServer, `Connect server, ${row.client}, ${row.streams} streams`);
      // Quick windows are 250 ms: 16 streams may not be under way by then on a busy machine; one is.
      if (row.streams === 1) assert.ok(row.connectServer.median > 0 && row.grpcJsServer.median > 0, "messages arrived");
    }

    assert.deepEqual(
      r.memory.rows.map((row: { server: string }) => row.server),
      ["connect", "grpc-js"],
    );
    for (const row of r.memory.rows) assert.ok(row.heapPerStream.median > 0, `${row.server}: heap per stream`);

    // The zero-window probe: every stream reset by the write-stall timeout, no handler left, the heap given back.
    assert.equal(r.slowReaders.rows.length, 4, "2 servers x 2 bounds");
    for (const row of r.slowReaders.rows) {
      const name = `${row.server} bounds ${row.bounds}`;
      // The defaults admit 16 streams per connection of 100; with the bounds off, every one.
      const perConnection = Math.min(100, row.maxStreams);
      assert.equal(row.admitted, Math.ceil(row.streams / 100) * perConnection, `${name}: streams admitted`);
      assert.equal(row.stalled, row.admitted, `${name}: reset for stalling`);
      assert.equal(row.handlersAfter, 0);
      assert.equal(row.normalFailed, 0, `${name}: normal calls served during the attack`);
      assert.equal(row.normalFirstMessageMs.n, 10);
      assert.ok(row.heapMiB.after - row.heapMiB.before < 8, `${name}: heap given back`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
