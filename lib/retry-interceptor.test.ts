/**
 * The retry interceptor (issue 17) against a real Connect server process:
 * it waits a restart out, it does not repeat a call that has had a message,
 * and it leaves other codes alone.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ChatService } from "../gen/chat_pb.ts";
import { buildEntries } from "../lab/engine/build.ts";
import { startServer, stopAllChildren } from "../lab/engine/child-process.ts";
import { freeFixedPort } from "../lab/engine/free-port.ts";
import { createRelay } from "../lab/faults/relay.ts";
import { createRetryInterceptor } from "./retry-interceptor.ts";

before(buildEntries);
after(() => stopAllChildren());

const retries = createRetryInterceptor({ maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 800, multiplier: 2 });
const clientOf = (port: number, interceptors = [retries]) =>
  createClient(ChatService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors }));

/** How a Chat call ended: "ok" with its messages, or the code. */
async function chat(client: ReturnType<typeof clientOf>): Promise<{ code: string; messages: number }> {
  let messages = 0;
  try {
    for await (const _ of client.chat({ name: "retry" })) messages++;
    return { code: "ok", messages };
  } catch (e) {
    return { code: Code[ConnectError.from(e).code], messages };
  }
}

test("a call made while nothing listens is retried until the server is back; without the interceptor it fails at once", async () => {
  const port = await freeFixedPort();
  // Pauses of up to 1 and 2 s: four random parts of them come to less than the ~0.5 s the server
  // takes to come back once in ~3000 runs (full jitter, gRFC A6).
  const patient = createRetryInterceptor({ maxAttempts: 5, initialBackoffMs: 1000, maxBackoffMs: 2000, multiplier: 2 });
  const withRetry = chat(clientOf(port, [patient]));
  const without = await chat(clientOf(port, []));
  assert.deepEqual(without, { code: "Unavailable", messages: 0 });
  await sleep(100);
  await startServer({
    entry: "server",
    args: ["--port", String(port), "--count", "2", "--interval-ms", "10", "--quiet"],
  });
  assert.deepEqual(await withRetry, { code: "ok", messages: 2 });
});

test("a call that had its first message is not repeated when the server dies (committed, as gRFC A6 says)", async () => {
  const { server, port } = await startServer({ entry: "server", args: ["--count", "3", "--interval-ms", "300"] });
  const client = clientOf(port);
  let messages = 0;
  const ended = (async () => {
    try {
      for await (const _ of client.chat({ name: "committed" })) {
        messages++;
        if (messages === 1) server.signal("SIGKILL");
      }
      return "ok";
    } catch (e) {
      return Code[ConnectError.from(e).code];
    }
  })();
  // connect-node reads the dropped connection as canceled (or aborted): not retried either way.
  assert.ok(["Canceled", "Aborted"].includes(await ended), "the stream ends with the connection");
  assert.equal(messages, 1, "no second attempt repeated message 1");
});

test("a code other than unavailable is not retried: one request crosses the wire", async () => {
  const { port } = await startServer({
    entry: "server",
    // A request bigger than the server takes ends resource_exhausted.
    args: ["--read-max-bytes", "10", "--count", "1", "--interval-ms", "10"],
  });
  // The lab's wire tap counts the requests, independently of the interceptor.
  const relay = await createRelay({ targetPort: port });
  try {
    let code = "ok";
    try {
      for await (const _ of clientOf(relay.port).chat({ name: "x".repeat(100) })) {
      }
    } catch (e) {
      code = Code[ConnectError.from(e).code];
    }
    assert.equal(code, "ResourceExhausted");
    await sleep(200);
    const requests = relay.connections.flatMap((c) => c.frames.filter((f) => f.dir === "c2s" && f.type === "HEADERS"));
    assert.equal(requests.length, 1);
  } finally {
    await relay.close();
  }
});
