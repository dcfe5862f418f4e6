/**
 * grpc.health.v1.Health on both servers, asked by both clients (--health,
 * --watch-health): real processes, as a health checker would call them.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultSettings } from "./lab/catalogue/settings.ts";
import { stackPairs } from "./lab/catalogue/stacks.ts";
import { buildEntries, type NodeEntry } from "./lab/engine/build.ts";
import { type Child, spawnChild, startServer, stopAllChildren } from "./lab/engine/child-process.ts";
import type { Program } from "./lab/engine/programs.ts";
import { describeRuns, findCell, runCases, testStacks } from "./lab/testing/run-cases.ts";
import { readyClients, readyServers, testPairs } from "./lab/testing/stacks.ts";

before(buildEntries);
after(() => stopAllChildren());

/** Runs a client to its end: exit code and the lines it printed. */
async function runClient(entry: NodeEntry | Program, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawnChild({ entry, args });
  const exit = await child.exited;
  return { code: exit.code, out: child.lines.map((l) => l.text).join("\n") };
}

// The tests' own stacks with one another; every other server with those clients; every other client
// with the Connect server (issue 27): each stack's health service and client asked at least once.
const own = (id: string, ids: readonly string[]) => ids.includes(id);
const pairs = stackPairs(await readyServers(), await readyClients()).filter(
  ({ server, client }) =>
    !client.browser &&
    (own(client.id, testStacks.clients) || server.id === "connect") &&
    (own(server.id, testStacks.servers) || own(client.id, testStacks.clients)),
);

for (const { server, client } of pairs) {
  describe(`${client.id} asks the ${server.id} server`, { concurrency: true }, () => {
    let serverChild: Child;
    let port: number;
    before(async () => {
      ({ server: serverChild, port } = await startServer({ entry: server.program, args: ["--quiet"] }));
    });
    after(() => serverChild.stop());
    const args = (...more: string[]) => ["--port", String(port), "--protocol", client.protocol, ...more];

    test("--health: SERVING, exit 0; for the Chat service too", async () => {
      for (const service of [[], ["--health-service", "chat.v1.ChatService"]]) {
        const r = await runClient(client.program, args("--health", ...service));
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /message 1: "SERVING"/);
      }
    });

    test("--health for a service the server does not know: not_found, exit 1", async () => {
      const r = await runClient(client.program, args("--health", "--health-service", "nope.v1.Nope"));
      assert.equal(r.code, 1);
      assert.match(r.out, /ended: not_found \(5\) "unknown service \\"nope.v1.Nope\\""/);
    });

    test("--watch-health for an unknown service: SERVICE_UNKNOWN, and the watch stays open", async () => {
      const watch = (ms: number) =>
        runClient(
          client.program,
          args("--watch-health", "--health-service", "nope.v1.Nope", "--timeout-ms", String(ms)),
        );
      // Long enough for a JVM's first connection on a loaded machine (grpc-java: 0.44 s of it
      // connecting once, and a 500 ms deadline passed before the first status). A watch that still
      // got no status before its deadline, on a loaded machine, is asked once more with 4 s.
      let r = await watch(1500);
      if (!/message 1:/.test(r.out) && /ended: deadline_exceeded/.test(r.out)) r = await watch(4000);
      assert.match(r.out, /message 1: "SERVICE_UNKNOWN"/, r.out);
      assert.match(r.out, /ended: deadline_exceeded/, r.out);
    });
  });
}

const ownPairs = await testPairs();

describe("a health watch during a graceful shutdown", () => {
  const id = "health-watch+shutdown-graceful";
  const cells = runCases({ cases: [id], settings: { ...defaultSettings, intervalMs: 150 } });
  for (const { server, client } of ownPairs) {
    test(`${server.id}<-${client.id}: SERVING, NOT_SERVING, then unavailable "server shutting down"`, async () => {
      const cell = findCell(await cells, id, server.id, client.id);
      const [run] = cell.runs;
      assert.deepEqual(run.messages, ["SERVING", "NOT_SERVING"], describeRuns(cell));
      assert.equal(run.code, "unavailable");
      assert.equal(run.message, "server shutting down");
    });
  }
});
