/**
 * The server's end of the line (issue 13), for both servers: a client that
 * leaves while its reply waits on flow control, a client that stops reading
 * for good, 2000 of them at once, the server's own GOAWAY, and log lines
 * that say what really happened to each message and each stream.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ourServerStacks } from "./lab/catalogue/stacks.ts";
import { buildEntries } from "./lab/engine/build.ts";
import { type Child, spawnChild, startServer, stopAllChildren } from "./lab/engine/child-process.ts";
import { openSlowReaders } from "./lab/faults/slow-reader.ts";
import { frame, frameType, preface } from "./lab/testing/h2-frames.ts";
import { mib, readServerMemory } from "./lab/testing/server-memory.ts";

before(buildEntries);
after(() => stopAllChildren());

/** Lines the server printed from `from` on. */
const linesSince = (server: Child, from: number) => server.lines.slice(from).map((l) => l.text);

/** Waits until `ok` holds, up to `ms`. */
async function until(ok: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = performance.now() + ms; performance.now() < deadline; await sleep(20)) if (ok()) return true;
  return ok();
}

for (const stack of ourServerStacks) {
  describe(`${stack.id} server`, { concurrency: true }, () => {
    for (const how of ["reset", "drop"] as const) {
      test(`a client that ${how === "reset" ? "resets its stream" : "drops its connection"} while its reply waits on flow control: the handler ends, "client gone"`, async () => {
        // 2 s between messages: the handler is mid-stream when the client leaves.
        const { server, port } = await startServer({ entry: stack.entry, args: ["--interval-ms", "2000"] });
        try {
          const readers = openSlowReaders({ port });
          await readers.responded;
          await sleep(200);
          readers[how]();
          const gone = await server.waitForLine(/^stream 1 client gone: canceled/, 3000).catch(() => undefined);
          assert.ok(gone, linesSince(server, 0).join("\n"));
          assert.equal((await readServerMemory(server)).handlers, 0, "no handler left running");
          readers.close();
        } finally {
          await server.stop();
        }
      });
    }

    test("a client that stops reading for good: the write-stall timeout resets the stream and says so; nothing claims to be sent", async () => {
      const { server, port } = await startServer({
        entry: stack.entry,
        args: ["--interval-ms", "100", "--write-stall-timeout-ms", "500"],
      });
      try {
        const readers = openSlowReaders({ port });
        const stalled = await server.waitForLine(/^stream 1 write stalled: message 1\/3 not sent for \d+ ms/, 3000);
        assert.match(stalled.text, /reset with RST_STREAM\(ENHANCE_YOUR_CALM\)$/);
        await until(() => readers.streams[0].destroyed, 1000);
        assert.equal(readers.streams[0].rstCode, 11, "the client was told: RST_STREAM(ENHANCE_YOUR_CALM)");
        assert.equal(readers.received, 0);
        assert.ok(await until(() => server.lines.length > 0, 0));
        const lines = linesSince(server, 0);
        assert.ok(!lines.some((l) => / sent to the socket$| ended: ok$/.test(l)), lines.join("\n"));
        assert.equal((await readServerMemory(server)).handlers, 0, "no handler left running");
        readers.close();
      } finally {
        await server.stop();
      }
    });

    test("a normal call: each message is said to be sent once it went to the socket, then ended: ok", async () => {
      const { server, port } = await startServer({ entry: stack.entry, args: ["--interval-ms", "50"] });
      try {
        const client = spawnChild({ entry: "client", args: ["--port", String(port)] });
        assert.equal((await client.exited).code, 0);
        await server.waitForLine(/^stream 1 ended: ok$/, 2000);
        assert.deepEqual(
          linesSince(server, 1).filter((l) => l.startsWith("stream 1 ") && !l.includes(" started: ")),
          [
            "stream 1 message 1/3 sent to the socket",
            "stream 1 message 2/3 sent to the socket",
            "stream 1 message 3/3 sent to the socket",
            "stream 1 ended: ok",
          ],
        );
      } finally {
        await server.stop();
      }
    });

    test("after the server's own GOAWAY (a client's protocol error), the connection closes within moments, not at keepalive", async () => {
      const { server, port } = await startServer({ entry: stack.entry, args: [] });
      try {
        const socket = connect({ host: "127.0.0.1", port });
        socket.on("error", () => {});
        // Read (and drop) what comes, or the socket never sees the server's FIN.
        socket.resume();
        await once(socket, "connect");
        const start = performance.now();
        // A DATA frame on a stream never opened: a connection error (RFC 9113 section 6.1).
        socket.write(
          Buffer.concat([preface, frame(frameType.settings, 0, 0), frame(frameType.data, 0, 5, Buffer.from("hi"))]),
        );
        const closed = await Promise.race([once(socket, "close").then(() => true), sleep(5000).then(() => false)]);
        assert.ok(closed, "the server closed the connection");
        assert.ok(performance.now() - start < 4000, `closed after ${Math.round(performance.now() - start)} ms`);
      } finally {
        await server.stop();
      }
    });

    test("2000 streams whose clients read nothing: each holds at most its request and one reply, and the stall timeout gives all back", async (t) => {
      const nameBytes = 100_000;
      const { server, port } = await startServer({
        entry: stack.entry,
        nodeArgs: ["--expose-gc"],
        args: ["--interval-ms", "50", "--write-stall-timeout-ms", "4000", "--quiet"],
      });
      try {
        const baseline = await readServerMemory(server);
        const readers = openSlowReaders({ port, streams: 2000, nameBytes });
        const started = () => server.lines.filter((l) => / started: /.test(l.text)).length;
        assert.ok(await until(() => started() === 2000, 15_000), `${started()} handlers started`);
        // Long enough for every handler to have made all its replies if nothing held them back.
        await sleep(1000);
        const held = await readServerMemory(server);
        // The bound: per stream, its request and one reply (the name twice over) and 64 KiB of
        // stream state; never the stream's whole reply piling up behind a shut window.
        const bound = baseline.heapUsed + 2000 * (2 * nameBytes + 64 * 1024);
        assert.ok(held.heapUsed < bound, `heap after GC: ${mib(held.heapUsed)} MiB, bound ${mib(bound)} MiB`);
        const stalled = () => server.lines.filter((l) => / write stalled: /.test(l.text)).length;
        assert.ok(await until(() => stalled() === 2000, 15_000), `${stalled()} streams reset for stalling`);
        readers.close();
        await sleep(300);
        const after = await readServerMemory(server);
        assert.equal(after.handlers, 0);
        assert.ok(after.heapUsed - baseline.heapUsed < 4 * 2 ** 20, `heap after: ${mib(after.heapUsed)} MiB`);
        t.diagnostic(
          `heap after GC: ${mib(baseline.heapUsed)} MiB before, ${mib(held.heapUsed)} MiB with 2000 stalled streams (bound ${mib(bound)} MiB), ${mib(after.heapUsed)} MiB after; rss ${mib(held.rss)} MiB while held`,
        );
      } finally {
        await server.stop();
      }
    });
  });
}
