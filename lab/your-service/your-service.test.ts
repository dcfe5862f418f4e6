/**
 * The lab pointed at a service the project's code does not contain (issue
 * 28): the price service of examples/prices (grpcio, another proto) as the
 * user's server, started by the lab (--server-cmd) or already running
 * (--target), and its price watcher as the user's client (--client-cmd);
 * every fault proven on the wire; bad input answered in one line, in bounded
 * time, with nothing left running.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { projectRoot } from "../engine/build.ts";
import { freePort } from "../engine/free-port.ts";
import type { CellResult, LabResults } from "../reports/results.ts";
import { runLab, runLabChecked } from "../testing/lab-cli.ts";
import { processState } from "../testing/processes.ts";
import { ready } from "../testing/stacks.ts";

const python = path.join("peers", "grpcio", ".venv", "bin", "python");
/** A word in every command the tests give the lab: what is left running is found by it. */
const mark = `labtest${process.pid}`;
const server = `${python} examples/prices/server.py --port {port} --host 127.0.0.1 # ${mark}`;
const watcher = `${python} examples/prices/client.py --addr {addr} # ${mark}`;
const schema = ["--proto", "examples/prices/proto/shop/v1/prices.proto", "--proto-path", "examples/prices/proto"];
const watch = ["--method", "shop.v1.Prices/Watch", "--request", '{"sku":"tea","intervalMs":300,"count":3}'];

const scratch = mkdtempSync(path.join(tmpdir(), "your-service-test-"));
const skip = !(await ready("grpcio/grpc")) && "the grpcio venv is not built (peers/grpcio)";
/** The clients of other languages that call from a schema, where their toolchains built them. */
const otherClients = (
  await Promise.all(
    ["connect-go/grpc", "grpc-go/grpc", "grpc-java/grpc"].map(async (id) => ((await ready(id)) ? [id] : [])),
  )
).flat();
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The processes whose command line holds the tests' mark (or `own`, one test's). */
function leftRunning(own = mark): string {
  try {
    return execFileSync("pgrep", ["-af", own], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/** Each cell's codes, "case client/protocol: codes", and the evidence every run had. */
function outcomes(results: LabResults): Map<string, string> {
  const by = new Map<string, string>();
  for (const cell of results.cells) {
    by.set(`${cell.case} ${cell.client}/${cell.protocol}`, [...new Set(cell.runs.map((r) => r.code))].join("+"));
    for (const run of cell.runs) {
      if (run.code === "n/a") continue;
      assert.deepEqual(run.evidence.missing, [], `${cell.case} ${cell.client}: the fault's evidence`);
    }
  }
  return by;
}

const code = (by: Map<string, string>, key: string) => by.get(key) ?? `no cell ${key} in ${[...by.keys()]}`;

describe("your server: the lab starts it, signals it and calls it from its schema", { skip }, () => {
  let results: LabResults;
  before(async () => {
    results = await runLabChecked(
      ["--quick", "--server-cmd", server, ...watch, ...schema, "--cases", "normal,crash,suspend,sigterm,blackhole"],
      path.join(scratch, "server"),
    );
  });

  test("each fault as the rules say, on every client that calls from a schema, with its evidence", () => {
    const by = outcomes(results);
    for (const client of ["connect/grpc", "grpc-js/grpc", "grpcio/grpc", ...otherClients]) {
      assert.equal(code(by, `normal ${client}`), "ok", client);
      assert.equal(code(by, `suspend ${client}`), "hang", client);
      assert.equal(code(by, `blackhole ${client}`), "hang", client);
      // Its SIGTERM handler stops with a second's grace, longer than the rest of the stream.
      assert.equal(code(by, `sigterm ${client}`), "ok", client);
    }
    // connect-node reads a dropped connection as canceled (a departure the report names).
    assert.equal(code(by, "crash grpc-js/grpc"), "unavailable");
    assert.equal(code(by, "crash grpcio/grpc"), "unavailable");
    assert.equal(code(by, "crash connect/grpc"), "canceled");
    // grpc-go and grpc-java from the schema (dynamicpb, DynamicMessage); connect-go reads the
    // dropped connection as internal (a departure of its own, lab/catalogue/case-parts.ts).
    for (const client of otherClients.filter((c) => c !== "connect-go/grpc"))
      assert.equal(code(by, `crash ${client}`), "unavailable", client);
    if (otherClients.includes("connect-go/grpc")) assert.equal(code(by, "crash connect-go/grpc"), "internal");
    assert.ok(results.cells.every((c) => c.server === "yours"));
    assert.equal(leftRunning(), "", "every server the lab started has ended");
  });

  test("the stream's own pace sets the timings, and the schema came from the .proto files", () => {
    assert.equal(results.meta.settings.intervalMs !== undefined, true);
    const interval = results.meta.settings.intervalMs as number;
    assert.ok(interval >= 250 && interval <= 400, `interval ${interval} ms, the stream's 300`);
    assert.equal(results.meta.settings.count, 3);
  });
});

describe("your server over TLS: the lab's certificate as {cert} and {key}, the faults read inside TLS", {
  skip,
}, () => {
  test("each client that logs its TLS secrets, its fault on the wire; the schema by reflection over TLS", async () => {
    const tlsServer = `${python} examples/prices/server.py --port {port} --cert {cert} --key {key} # ${mark}`;
    const results = await runLabChecked(
      ["--quick", "--tls", "--server-cmd", tlsServer, ...watch, "--cases", "normal,crash"],
      path.join(scratch, "tls"),
    );
    const by = outcomes(results);
    for (const client of ["connect/grpc", "grpc-js/grpc", ...otherClients.filter((c) => c.includes("go"))]) {
      assert.equal(code(by, `normal ${client}`), "ok", client);
      const cell = results.cells.find((c) => c.case === "crash" && `${c.client}/${c.protocol}` === client);
      const wire = cell?.runs[0].wire ?? [];
      assert.ok(wire.length > 0 && wire.every((c) => c.tls?.secrets), `${client}: the tap read inside TLS`);
    }
    // PyPI's grpcio keeps its TLS secrets from the tap: its cells say so instead of guessing.
    assert.equal(code(by, "crash grpcio/grpc"), "n/a");
    assert.equal(leftRunning(), "");
  });

  test("a certificate of its own (--tls-ca), read inside TLS on both of nginx's hops", async () => {
    // A CA and a certificate for 127.0.0.1 and localhost that are not the lab's, as a user has.
    const dir = path.join(scratch, "own-ca");
    execFileSync("sh", [
      "-c",
      `mkdir -p ${dir} && cd ${dir} && ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes" &&
       openssl req -x509 $ec -keyout ca.key -out ca.pem -days 1 -subj "/CN=own CA" 2>/dev/null &&
       openssl req $ec -keyout key.pem -out req.csr -subj "/CN=localhost" 2>/dev/null &&
       printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > ext.cnf &&
       openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 1 -extfile ext.cnf 2>/dev/null &&
       cat cert.pem ca.pem > chain.pem`,
    ]);
    const own = `${python} examples/prices/server.py --port {port} --cert ${dir}/chain.pem --key ${dir}/key.pem # ${mark}`;
    const results = await runLabChecked(
      [
        "--quick",
        "--tls",
        "--tls-ca",
        path.join(dir, "ca.pem"),
        "--server-cmd",
        own,
        ...watch,
        "--cases",
        "normal,nginx/crash",
      ],
      path.join(scratch, "tls-own"),
    );
    const by = outcomes(results);
    for (const client of ["connect/grpc", "grpc-js/grpc"]) {
      assert.equal(code(by, `normal ${client}`), "ok", client);
      assert.equal(code(by, `nginx/crash ${client}`), "internal", client);
    }
    assert.equal(leftRunning(), "");
  });
});

describe("a server already running: only the relay's faults, the schema from its reflection", { skip }, () => {
  let running: ChildProcess;
  let port: number;
  before(async () => {
    port = await freePort();
    running = spawn(python, ["examples/prices/server.py", "--port", String(port)], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => running.stdout?.once("data", () => resolve()));
  });
  after(() => running.kill("SIGKILL"));

  test("blackhole and reset with their evidence; the server never signalled, still serving", async () => {
    const results = await runLabChecked(
      ["--quick", "--target", `127.0.0.1:${port}`, ...watch, "--cases", "normal,blackhole,reset,crash"],
      path.join(scratch, "target"),
    );
    const by = outcomes(results);
    for (const client of ["grpc-js/grpc", "grpcio/grpc"]) {
      assert.equal(code(by, `normal ${client}`), "ok");
      assert.equal(code(by, `blackhole ${client}`), "hang");
      assert.equal(code(by, `reset ${client}`), "unavailable");
    }
    assert.ok(![...by.keys()].some((k) => k.startsWith("crash ")), "no case that signals the server");
    assert.match(results.meta.selection?.cases.join(",") ?? "", /^normal,blackhole,reset$/);
    assert.equal(processState(running.pid ?? -1), "S", "the server sleeps, as before");
    assert.equal(running.exitCode, null);
  });
});

describe("your client: its own retries and deadline against your server's faults", { skip }, () => {
  test("its result from its last JSON line, its messages from the wire", async () => {
    const results = await runLabChecked(
      // The default timings (a 1.6 s watchdog): its retries take longer than --quick's 0.6 s.
      ["--repeat", "1", "--server-cmd", server, "--client-cmd", watcher, "--cases", "normal,crash,suspend"],
      path.join(scratch, "client"),
    );
    const by = outcomes(results);
    assert.equal(code(by, "normal yours/grpc"), "ok");
    // It calls again twice on UNAVAILABLE (0.2 s, then 0.4 s apart), then gives up.
    assert.equal(code(by, "crash yours/grpc"), "unavailable");
    const crash = results.cells.find((c) => c.case === "crash") as CellResult;
    for (const run of crash.runs) {
      assert.ok(run.detectMs !== null && run.detectMs >= 550, `its retries take their time: ${run.detectMs} ms`);
      assert.equal(run.received, 1, "message 1 seen on the wire before the fault");
    }
    // A 5 s deadline is past the watchdog: it waits.
    assert.equal(code(by, "suspend yours/grpc"), "hang");
    assert.equal(leftRunning(), "");
  });
});

describe("your client on a long-lived channel: its calls placed on each scenario's timeline", { skip }, () => {
  test("a ticker's calls, one JSON line each: unavailable through a restart, then ok again", async () => {
    const ticker = `${python} examples/prices/ticker.py --addr {addr} # ${mark}`;
    const results = await runLabChecked(
      ["--quick", "--server-cmd", server, "--client-channel-cmd", ticker, "--cases", "restart-through,idle-then-crash"],
      path.join(scratch, "channel"),
    );
    const by = outcomes(results);
    assert.equal(code(by, "restart-through yours-channel/grpc"), "ok+unavailable");
    assert.equal(code(by, "idle-then-crash yours-channel/grpc"), "unavailable");
    const restart = results.cells.find((c) => c.case === "restart-through")?.runs[0];
    const calls = restart?.channel?.calls ?? [];
    // Every 100 ms over the scenario: its own calls, not one per step of the lab's.
    assert.ok(calls.length >= 10, `${calls.length} calls`);
    assert.ok(
      calls.some((c) => c.code === "ok" && c.received >= 1),
      "an answer seen on the wire",
    );
    assert.notEqual(restart?.channel?.summary.recoveryMs, null, "it recovered after the restart");
    assert.equal(leftRunning(), "");
  });
});

// Five at once: each mostly waits (for a port that never opens, a command that never ends), and each
// lab's start costs CPU (ten at once, beside the suite's other files, took past 30 s each).
describe("bad input: one line, a non-zero exit, bounded time, nothing left running", {
  skip,
  concurrency: 5,
}, () => {
  // withinMs: a client command's own limit is 17.5 s here, and ten runs of the lab start together.
  const cases: { name: string; args: string[]; message: RegExp; status: number; withinMs?: number }[] = [
    {
      name: "a command that never listens",
      args: ["--server-cmd", `sleep 30 # ${mark} {port}`, ...watch, ...schema, "--server-start-ms", "1500"],
      message: /your server command did not listen on 127\.0\.0\.1:\d+ within 1500 ms$/,
      status: 1,
    },
    {
      name: "a command that exits at once",
      args: ["--server-cmd", `sh -c 'echo broken >&2; exit 3' # ${mark} {port}`, ...watch, ...schema],
      message: /your server command exited \(exit 3\) before it listened on 127\.0\.0\.1:\d+: broken$/,
      status: 1,
    },
    {
      name: "a command that listens on another port",
      args: [
        "--server-cmd",
        `${python} examples/prices/server.py --host 127.0.0.1 --port 0 # ${mark} {port}`,
        ...watch,
        ...schema,
        "--server-start-ms",
        "3000",
      ],
      message: /did not listen on .* within 3000 ms \(it listens on \d+: does the command put \{port\} where/,
      status: 1,
    },
    {
      name: "a method not in the schema",
      args: ["--server-cmd", server, "--method", "shop.v1.Prices/Nope", ...schema],
      message: /--method shop\.v1\.Prices\/Nope: not in the schema \(it has shop\.v1\.Prices\/Watch, /,
      status: 2,
    },
    {
      name: "a request that does not parse",
      args: ["--server-cmd", server, "--method", "shop.v1.Prices/Get", "--request", '{"sku": 1,', ...schema],
      message: /--request is not JSON/,
      status: 2,
    },
    {
      name: "a request of another type",
      args: ["--server-cmd", server, "--method", "shop.v1.Prices/Get", "--request", '{"color":"red"}', ...schema],
      message: /--request is not a shop\.v1\.GetRequest: .*"color" is unknown/,
      status: 2,
    },
    {
      name: "a call the server refuses",
      args: ["--server-cmd", server, "--method", "shop.v1.Prices/Watch", ...schema],
      message: /your server answered shop\.v1\.Prices\/Watch with invalid_argument "sku is required"/,
      status: 1,
    },
    {
      name: "--tls, and a command with no {cert} and {key}",
      args: ["--tls", "--server-cmd", server, ...watch, ...schema],
      message: /--server-cmd with --tls needs \{cert\} and \{key\} where your server takes its certificate/,
      status: 2,
    },
    {
      name: "a channel client that reports no call",
      args: ["--quick", "--client-channel-cmd", `sleep 600 # ${mark} {addr}`, "--cases", "channel"],
      message:
        /your client channel command must make calls until it is stopped, one JSON line each .*: it printed 0 call line\(s\) within/,
      status: 1,
      withinMs: 45_000,
    },
    {
      name: "a client command that never ends",
      args: ["--quick", "--client-cmd", `sleep 600 # ${mark} {addr}`, "--cases", "normal"],
      message: /your client command did not end within [\d.]+ s of a call to a healthy server/,
      status: 1,
      withinMs: 45_000,
    },
  ];
  for (const [i, c] of cases.entries()) {
    test(c.name, async () => {
      // A mark of its own: the other tests run at the same time.
      const own = `${mark}-${i}-`;
      const args = c.args.map((a) => a.replaceAll(mark, own));
      const started = performance.now();
      const r = await runLab([...args, "--out", path.join(scratch, `bad-${i}`)], undefined, 60_000);
      const lines = r.stderr.trim().split("\n");
      assert.equal(r.status, c.status, r.stderr);
      assert.match(lines[lines.length - 1], c.message);
      assert.ok(lines[lines.length - 1].startsWith("lab: "), "one line of the lab's, no stack trace");
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
      assert.ok(performance.now() - started < (c.withinMs ?? 30_000), "in bounded time");
      assert.equal(leftRunning(own), "", "nothing the lab started is left");
    });
  }
});
