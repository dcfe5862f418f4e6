/**
 * Graceful drain under load (issue 6): 200 Chat streams in flight when the
 * server gets SIGTERM, for both servers; and a second signal, whose status
 * every client stack must receive (issue 10). The streams are real gRPC calls
 * from connect-node in this process, over 13 HTTP/2 connections (the servers
 * allow 16 concurrent streams per connection by default, and connect-node
 * fails the calls beyond that instead of queueing them).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ChatService } from "./gen/chat_pb.ts";
import { ourServerStacks, stackPairs } from "./lab/catalogue/stacks.ts";
import { buildEntries } from "./lab/engine/build.ts";
import { type Child, spawnChild, startServer, stopAllChildren } from "./lab/engine/child-process.ts";
import type { CallResult } from "./lib/call-report.ts";
import { defaultMaxStreams } from "./lib/server-flags.ts";

const streams = 200;
const connections = Math.ceil(streams / defaultMaxStreams);

before(buildEntries);
after(() => stopAllChildren());

interface StreamEnd {
  code: Code | 0;
  message: string;
  received: number;
}

/** Opens `streams` Chat streams over `connections` connections; `firstMessages` settles once each has message 1. */
function openStreams(port: number) {
  let withFirst = 0;
  let allFirst: () => void = () => {};
  const firstMessages = new Promise<void>((resolve) => {
    allFirst = resolve;
  });
  const clients = Array.from({ length: connections }, () =>
    createClient(ChatService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` })),
  );
  const ends = Array.from({ length: streams }, async (_, i): Promise<StreamEnd> => {
    let received = 0;
    try {
      for await (const _response of clients[i % connections].chat({ name: `load-${i}` })) {
        if (++received === 1 && ++withFirst === streams) allFirst();
      }
      return { code: 0, message: "", received };
    } catch (e) {
      const error = ConnectError.from(e);
      return { code: error.code, message: error.rawMessage, received };
    }
  });
  return { firstMessages, ends: Promise.all(ends) };
}

/** A call on a new connection, made while the server drains. */
async function newCall(port: number): Promise<Code | 0> {
  const client = createClient(ChatService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
  try {
    for await (const _ of client.chat({ name: "late" }, { timeoutMs: 2000 })) {
      // A message here means the call was accepted: the test below says so.
    }
    return 0;
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

/** Ms from `since` (performance.now()) to the server's exit. */
async function exitAfter(server: Child, since: number): Promise<{ code: number | null; ms: number }> {
  const exit = await server.exited;
  return { code: exit.code, ms: Math.round(exit.at - since) };
}

const servers = ourServerStacks;

for (const stack of servers) {
  describe(`${stack.id} server: SIGTERM with ${streams} streams in flight`, { concurrency: true }, () => {
    test("grace longer than the streams: every stream ends ok with every message; new calls are refused", async (t) => {
      const count = 4;
      const { server, port } = await startServer({
        entry: stack.program,
        args: ["--count", String(count), "--interval-ms", "300", "--grace-ms", "10000", "--quiet"],
      });
      const { firstMessages, ends } = openStreams(port);
      await firstMessages;
      const signalledAt = performance.now();
      server.signal("SIGTERM");
      await server.waitForLine(/^shutdown: SIGTERM/, 5000);
      assert.equal(await newCall(port), Code.Unavailable, "a call after SIGTERM");
      const results = await ends;
      const notOk = results.filter((r) => r.code !== 0);
      assert.deepEqual(notOk, [], "every stream ends ok");
      const total = results.reduce((sum, r) => sum + r.received, 0);
      assert.equal(total, streams * count, "nothing lost: every message of every stream arrived");
      const exit = await exitAfter(server, signalledAt);
      assert.equal(exit.code, 0);
      assert.equal(server.stderr(), "", "no warning, no stack trace");
      // The streams had ~3 x 300 ms left; the server leaves once they are done, not at the end of its grace.
      assert.ok(exit.ms < 5000, `exited ${exit.ms} ms after SIGTERM`);
      t.diagnostic(`${total} messages over ${streams} streams, all ok; server exited ${exit.ms} ms after SIGTERM`);
    });

    test('short grace: the streams still running end unavailable "server shutting down", exit soon after grace + 1 s', async (t) => {
      const graceMs = 300;
      const count = 50;
      const { server, port } = await startServer({
        entry: stack.program,
        args: ["--count", String(count), "--interval-ms", "200", "--grace-ms", String(graceMs), "--quiet"],
      });
      const { firstMessages, ends } = openStreams(port);
      await firstMessages;
      const signalledAt = performance.now();
      server.signal("SIGTERM");
      const results = await ends;
      const exit = await exitAfter(server, signalledAt);
      const wrong = results.filter((r) => r.code !== Code.Unavailable || r.message !== "server shutting down");
      assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} stream(s) ended otherwise`);
      assert.ok(
        results.every((r) => r.received >= 1 && r.received < count),
        "each got message 1, none got all",
      );
      // Its own timers end the streams at the grace and drop what is left 1000 ms later; the streams'
      // natural end is 10 s away. A CPU-starved machine runs those timers late (issue 22: 1.3-1.7 s
      // seen with a CPU hog beside the suite; 2.5 s in CI's clone with the suite's other files), so
      // the bound allows 2.5 s for that, and still tells an exit at the grace from one that waited
      // for the streams.
      const budgetMs = graceMs + 1000 + 2500;
      assert.ok(exit.ms <= budgetMs, `exited ${exit.ms} ms after SIGTERM, budget ${budgetMs} ms`);
      assert.equal(server.stderr(), "", "no warning, no stack trace");
      t.diagnostic(
        `${streams} streams ended unavailable; server exited ${exit.ms} ms after SIGTERM (grace ${graceMs} ms)`,
      );
    });
  });
}

describe("a second signal during the drain: the status each client receives is the status the server logs", () => {
  for (const { server, client } of stackPairs(ourServerStacks)) {
    test(`${server.id}<-${client.id}: unavailable "server shutting down", on the wire and in the log`, async () => {
      // 5 s between messages: the second signal finds the stream mid-way, as Ctrl-C Ctrl-C would.
      const { server: child, port } = await startServer({ entry: server.program, args: ["--interval-ms", "5000"] });
      try {
        const caller = spawnChild({
          entry: client.program,
          args: ["--port", String(port), "--protocol", client.protocol, "--json"],
        });
        await caller.waitForLine(/message 1:/, 10_000);
        child.signal("SIGINT");
        await child.waitForLine(/^shutdown: SIGINT/, 5000);
        child.signal("SIGINT");
        await caller.exited;
        const result = JSON.parse(caller.lines[caller.lines.length - 1]?.text ?? "{}") as CallResult;
        assert.equal(result.code, "unavailable", `${result.message}\n${child.lines.map((l) => l.text).join("\n")}`);
        assert.equal(result.message, "server shutting down");
        assert.equal(result.received, 1);
        await child.exited;
        const log = child.lines.map((l) => l.text);
        assert.ok(log.includes('stream 1 ended: unavailable "server shutting down"'), log.join("\n"));
        assert.ok(!log.some((l) => /not delivered/.test(l)), log.join("\n"));
      } finally {
        await child.stop();
      }
    });
  }
});
