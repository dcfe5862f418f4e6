/**
 * The Chat service end to end: real server and client processes for every
 * stack pair, real signals, short timings (3 messages 150 ms apart), run
 * through the lab's own engine (client agents, a client process for Ctrl-C).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type LabSettings, quickSettings } from "./lab/catalogue/settings.ts";
import { buildEntries, type NodeEntry } from "./lab/engine/build.ts";
import { spawnChild, stopAllChildren } from "./lab/engine/child-process.ts";
import { freePort } from "./lab/engine/free-port.ts";
import { type Program, programName } from "./lab/engine/programs.ts";
import { startServer } from "./lab/engine/server-pool.ts";
import type { CellResult } from "./lab/reports/results.ts";
import { describeRuns, findCell, runCases } from "./lab/testing/run-cases.ts";
import { readyClients, readyServers, testPairs } from "./lab/testing/stacks.ts";

const settings: LabSettings = {
  count: 3,
  intervalMs: 150,
  keepalive: { intervalMs: 300, timeoutMs: 300 },
  deadlineMs: 1000,
  idleTimeoutMs: 400,
  writeStallMs: 400,
  restartGapMs: 500,
  // "Still waiting 2 s later" is what a hang means here.
  watchdogMs: 2000,
  ctrlCDelayMs: 200,
  channel: quickSettings.channel,
};

const cases = [
  "normal",
  "no-server",
  "crash",
  "shutdown-graceful",
  "shutdown-abrupt",
  "suspend",
  "suspend+keepalive",
  "suspend+deadline",
  "suspend+ctrl-c",
];
let cells: CellResult[] = [];
before(async () => {
  await buildEntries();
  cells = await runCases({ cases, settings });
});
after(() => stopAllChildren());

for (const { server, client } of await testPairs()) {
  const run = (id: string) => {
    const cell = findCell(cells, id, server.id, client.id);
    assert.equal(cell.runs.length, 1);
    return { ...cell.runs[0], all: describeRuns(cell) };
  };
  // A dropped connection: Node turns it into RST_STREAM(CANCEL), which connect-node reads as
  // canceled (aborted when the kernel closed with RST); grpc-js reads the same event as
  // unavailable "Connection dropped" (see README).
  const crashCodes = client.client === "connect" ? ["canceled", "aborted"] : ["unavailable"];

  describe(`${client.id} against the ${server.id} server`, () => {
    test("normal: ok with 3 messages", () => {
      const r = run("normal");
      assert.equal(r.code, "ok", r.all);
      assert.equal(r.received, 3);
    });
    test("no server: unavailable", () => {
      const r = run("no-server");
      assert.equal(r.code, "unavailable", r.all);
      assert.equal(r.received, 0);
    });
    test(`SIGKILL of the server after message 1: ${crashCodes.join(" or ")}`, () => {
      const r = run("crash");
      assert.ok(crashCodes.includes(r.code), r.all);
      assert.ok(r.received < 3, `received ${r.received}`);
    });
    test("SIGTERM with grace: ok with all 3 messages", () => {
      const r = run("shutdown-graceful");
      assert.equal(r.code, "ok", r.all);
      assert.equal(r.received, 3);
    });
    test('SIGTERM with zero grace: unavailable "server shutting down"', () => {
      const r = run("shutdown-abrupt");
      assert.equal(r.code, "unavailable", r.all);
      assert.match(r.message, /server shutting down/);
      assert.ok(r.received < 3, `received ${r.received}`);
    });
    test("SIGSTOP after message 1: the client is still waiting 2 s later", () => {
      const r = run("suspend");
      assert.equal(r.code, "hang", r.all);
      assert.equal(r.hung, true);
      assert.ok(r.received < 3, `received ${r.received}`);
    });
    // gRPC core 1.85.1 waits for a PING's ACK as long as grpc.http2.ping_timeout_ms says (a minute
    // by default), not keepalive_timeout_ms: keepalive alone leaves the grpcio client waiting
    // (docs/repro/grpcio-keepalive-timeout.py; the grpcio section of profiles.ts sets both).
    const keepaliveHangs = client.client === "grpcio" && client.release === undefined;
    test(`SIGSTOP with keepalive 300/300 ms: ${keepaliveHangs ? "still waiting 2 s later (gRPC core 1.85.1)" : "unavailable within 1.5 s"}`, () => {
      const r = run("suspend+keepalive");
      if (keepaliveHangs) {
        assert.equal(r.code, "hang", r.all);
        return;
      }
      assert.equal(r.code, "unavailable", r.all);
      assert.ok(r.detectMs !== null && r.detectMs < 1500, `detected after ${r.detectMs} ms`);
    });
    test("SIGSTOP with a deadline: deadline_exceeded", () => {
      const r = run("suspend+deadline");
      assert.equal(r.code, "deadline_exceeded", r.all);
    });
    test("SIGINT to the client while the server is suspended: canceled, exit within 500 ms", () => {
      const r = run("suspend+ctrl-c");
      assert.equal(r.code, "canceled", r.all);
      assert.equal(r.caller, "process");
      assert.ok(r.exitMs !== null && r.exitMs < 500, `exited ${r.exitMs} ms after SIGINT`);
    });
  });
}

describe("servers stop working for a client that left", { concurrency: true }, () => {
  for (const entry of ["server", "peers/grpc-js-server"] as const) {
    test(`${entry}: the handler ends at once when the client is interrupted`, async () => {
      // 5 s between messages: a handler that kept sleeping would log nothing for 5 s.
      const { child: server, port } = await startChatServer(entry, ["--interval-ms", "5000"]);
      try {
        const client = spawnChild({ entry: "client", args: ["--port", String(port)] });
        await client.waitForLine(/message 1:/, 10_000);
        client.signal("SIGINT");
        const gone = await server.waitForLine(/^stream \d+ client gone: canceled/, 1500);
        assert.ok(gone);
        assert.equal((await client.exited).code, 1);
      } finally {
        await server.stop();
      }
    });
  }
});

const readyServersNow = await readyServers();
const readyClientsNow = await readyClients();

describe("bad command lines: one line on stderr naming the flag, exit 2", { concurrency: true }, () => {
  // Every program takes the same flags where they apply (issues 12, 27); a stack that is not here is skipped.
  const program = (p: Program | NodeEntry): Program => (typeof p === "string" ? { kind: "node", entry: p } : p);
  const servers = [
    ...new Map(readyServersNow.filter((s) => !s.peerOnly).map((s) => [JSON.stringify(s.program), s.program])).values(),
  ];
  const clients = [
    ...new Map(readyClientsNow.filter((c) => !c.browser).map((c) => [JSON.stringify(c.program), c.program])).values(),
  ];
  const name = (p: Program | NodeEntry) => programName(program(p));
  /** One class of bad input each, tried on every program it applies to. */
  const classes: { name: string; entries: readonly (Program | NodeEntry)[]; args: string[]; message: RegExp }[] = [
    {
      name: "an unknown flag",
      entries: [...servers, ...clients, "peers/fault-peer"],
      args: ["--bogus"],
      message: /Unknown option '--bogus'/,
    },
    { name: "a stray word", entries: [...servers, ...clients], args: ["stray"], message: /positional argument/ },
    {
      name: "a protocol that does not exist",
      entries: clients,
      args: ["--protocol", "carrier-pigeon"],
      message: /--protocol must be one of grpc/,
    },
    {
      name: "a port out of range",
      entries: [...servers, ...clients],
      args: ["--port", "70000"],
      message: /--port must be a whole number from [01] to 65535, got "70000"/,
    },
    {
      name: "a port out of range",
      entries: ["peers/fault-peer"],
      args: ["--fault", "mute", "--port", "70000"],
      message: /--port must be a whole number from 0 to 65535, got "70000"/,
    },
    {
      name: "a negative timing",
      entries: servers,
      args: ["--interval-ms", "-5"],
      message: /--interval-ms must be a whole number >= 0, got "-5"/,
    },
    {
      name: "a negative timing",
      entries: clients,
      args: ["--timeout-ms", "-5"],
      message: /--timeout-ms must be a whole number >= 1, got "-5"/,
    },
    {
      name: "a timing that is not a number",
      entries: [...servers, ...clients],
      args: ["--ping-interval-ms", "soon"],
      message: /--ping-interval-ms must be a whole number >= [01], got "soon"/,
    },
    {
      name: "a limit of zero",
      entries: servers,
      args: ["--read-max-bytes", "0"],
      message: /--read-max-bytes must be a whole number from 1 to/,
    },
    {
      name: "a fault that does not exist",
      entries: ["peers/fault-peer"],
      args: ["--fault", "meteor"],
      message: /--fault must be one of rst-stream:0, .*, got "meteor"/,
    },
    {
      name: "two modes at once",
      entries: clients,
      args: ["--health", "--watch-health"],
      message: /--health and --watch-health: choose one/,
    },
  ];
  for (const { name: className, entries, args, message } of classes) {
    for (const entry of entries) {
      test(`${className}: ${name(entry)} ${args.join(" ")}`, async () => {
        const child = spawnChild({ entry, args });
        const exit = await child.exited;
        assert.equal(exit.code, 2);
        const stderr = child.stderr().trim();
        assert.equal(stderr.split("\n").length, 1, stderr);
        assert.match(stderr, message);
        assert.match(stderr, /^[a-z-]+: /, "the line starts with the program's name");
      });
    }
  }
  for (const entry of servers) {
    test(`${name(entry)}: a port in use`, async () => {
      const port = await freePort();
      const first = spawnChild({ entry: "server", args: ["--port", String(port)] });
      try {
        await first.waitForLine(/^listening on /, 10_000);
        const second = spawnChild({ entry, args: ["--port", String(port)] });
        assert.equal((await second.exited).code, 2);
        assert.match(
          second.stderr().trim(),
          new RegExp(`^[a-z-]+: --port ${port}: 127.0.0.1:${port} is already in use$`),
        );
      } finally {
        await first.stop();
      }
    });
  }
});

/** A Chat server of the given program on a free port (the lab warms it with one health check). */
function startChatServer(entry: "server" | "peers/grpc-js-server", args: string[]) {
  return startServer({ id: entry, program: { kind: "node", entry }, protocols: ["grpc"], label: entry }, [
    "--port",
    "0",
    ...args,
  ]);
}
