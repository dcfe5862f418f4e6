/**
 * The stacks in other languages (issue 27), through the lab's own engine: each new client's codes
 * for a crash, a suspension found by keepalive and a GOAWAY, against two servers (the Connect
 * server and grpc-go's) and the fault peer; each new server's, against two clients (connect-node
 * and grpc-js). Every fault is checked on the wire, as in any run. A stack whose toolchain is not
 * here is skipped, as the lab skips it; and the lab says so in one line.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type LabSettings, quickSettings } from "../lab/catalogue/settings.ts";
import { stopAllChildren } from "../lab/engine/child-process.ts";
import type { CellResult } from "../lab/reports/results.ts";
import { runLab } from "../lab/testing/lab-cli.ts";
import { describeRuns, findCell, runCases } from "../lab/testing/run-cases.ts";
import { ready } from "../lab/testing/stacks.ts";

const settings: LabSettings = {
  ...quickSettings,
  count: 3,
  intervalMs: 150,
  keepalive: { intervalMs: 250, timeoutMs: 250 },
  watchdogMs: 1500,
};

const newClients = ["connect-go/grpc", "connect-go/connect", "grpc-go/grpc", "grpc-java/grpc", "tonic/grpc"];
const newServers = ["connect-go", "grpc-go", "grpc-java", "tonic"];
const clients = (await Promise.all(newClients.map(async (c) => ((await ready(c)) ? [c] : [])))).flat();
const servers = (await Promise.all(newServers.map(async (s) => ((await ready(s)) ? [s] : [])))).flat();

let asClients: CellResult[] = [];
let asServers: CellResult[] = [];
before(async () => {
  asClients = await runCases({
    cases: ["crash", "suspend+keepalive", "goaway:0"],
    servers: ["connect", "fault-peer", ...((await ready("grpc-go")) ? ["grpc-go"] : [])],
    clients,
    settings,
  });
  asServers = await runCases({
    cases: ["crash", "suspend+keepalive"],
    servers,
    clients: ["connect/grpc", "grpc-js/grpc"],
    settings,
  });
});
after(() => stopAllChildren());

/** The one run of a cell, its fault on the wire. */
function run(cells: CellResult[], id: string, server: string, client: string) {
  const cell = findCell(cells, id, server, client);
  const [r] = cell.runs;
  assert.deepEqual(r.evidence.missing, [], `${id} ${server}<-${client}: the fault on the wire (${describeRuns(cell)})`);
  return { ...r, all: describeRuns(cell) };
}

/** What each new client reads of a killed server, as measured and reproduced (docs/repro). */
const crashCodes: Record<string, string[]> = {
  "connect-go": ["internal", "canceled"],
  "grpc-go": ["unavailable"],
  "grpc-java": ["unavailable"],
  tonic: ["unknown"],
};

/** What each new client reads when its keepalive gives up on a stopped server (the catalogue's departures). */
const keepaliveCodes: Record<string, string> = {
  "connect-go": "internal", // "protocol error: incomplete envelope: http2: client connection lost"
  "grpc-go": "unavailable",
  "grpc-java": "unavailable",
  tonic: "unknown", // "h2 protocol error: error reading a body from connection"
};

for (const client of clients) {
  const [stack, protocol] = client.split("/");
  describe(`${client} as the client`, () => {
    // grpc-go's server speaks gRPC only: a Connect-protocol client has no cell against it.
    for (const server of ["connect", ...(protocol === "grpc" ? ["grpc-go"] : [])]) {
      test(`${server} server killed after message 1: ${crashCodes[stack].join(" or ")}`, async (t) => {
        if (server === "grpc-go" && !servers.includes("grpc-go")) return t.skip("no Go toolchain here");
        const r = run(asClients, "crash", server, client);
        assert.ok(crashCodes[stack].includes(r.code), r.all);
      });
      test(`${server} server suspended, keepalive: ${keepaliveCodes[stack]}, after the library's own floor`, async (t) => {
        if (server === "grpc-go" && !servers.includes("grpc-go")) return t.skip("no Go toolchain here");
        const r = run(asClients, "suspend+keepalive", server, client);
        assert.equal(r.code, keepaliveCodes[stack], r.all);
        // grpc-go and grpc-java raise a keepalive time under 10 s to 10 s: the PINGs on the wire say so.
        const floor = stack === "grpc-go" || stack === "grpc-java";
        assert.ok(r.detectMs !== null && (floor ? r.detectMs >= 9500 : r.detectMs < 1500), `${r.detectMs} ms`);
      });
    }
    test("GOAWAY(NO_ERROR) from the fault peer: the code it reads is stated in the catalogue", () => {
      const cell = findCell(asClients, "goaway:0", "fault-peer", client);
      assert.ok(cell.expected.allowed.includes(cell.runs[0].code), describeRuns(cell));
    });
  });
}

for (const server of servers) {
  describe(`the ${server} server`, () => {
    for (const client of ["connect/grpc", "grpc-js/grpc"]) {
      test(`killed after message 1, read by ${client}: the code the catalogue states`, () => {
        const cell = findCell(asServers, "crash", server, client);
        run(asServers, "crash", server, client);
        assert.ok(cell.expected.allowed.includes(cell.runs[0].code), describeRuns(cell));
      });
      test(`suspended, ${client} with keepalive: unavailable`, () => {
        assert.equal(run(asServers, "suspend+keepalive", server, client).code, "unavailable");
      });
    }
  });
}

test("a missing toolchain skips its stacks with one line, and the rest runs", async () => {
  const r = await runLab(
    [
      "--quick",
      "--cases",
      "normal",
      "--servers",
      "connect",
      "--clients",
      "connect/grpc,grpc-go/grpc,connect-go/grpc",
      "--out",
      mkdtempSync(path.join(tmpdir(), "lab-no-go-")),
    ],
    { ...process.env, LAB_GO: "/nonexistent/go" },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.includes("skipped"));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /^lab: connect-go\/grpc, grpc-go\/grpc skipped: no Go toolchain \(\/nonexistent\/go: not found/,
  );
  assert.match(r.stdout, /connect<-connect\/grpc/);
  assert.doesNotMatch(r.stdout, /grpc-go\/grpc/);
});
