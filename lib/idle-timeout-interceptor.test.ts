import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { ChatRequestSchema, ChatService } from "../gen/chat_pb.ts";
import { buildEntries, type Entry } from "../lab/engine/build.ts";
import { type Child, startServer, stopAllChildren } from "../lab/engine/child-process.ts";
import { createGrpcJsIdleTimeoutInterceptor } from "./grpc-js-idle-timeout.ts";
import { chatServiceDefinition } from "./grpc-js-service.ts";
import { createIdleTimeoutInterceptor } from "./idle-timeout-interceptor.ts";

before(buildEntries);

// Long enough that a fresh connection's first message makes it on a machine busy with the rest of
// the suite (300 ms did not, once); the healthy stream's pauses (100 ms) stay well under it.
const idleMs = 1000;
after(() => stopAllChildren());

/** A real server process: 3 messages 100 ms apart, or silent after message 1. */
function startChatServer(entry: Entry, stalled: boolean): Promise<{ server: Child; port: number }> {
  return startServer({ entry, args: ["--interval-ms", "100", ...(stalled ? ["--stall-after", "1"] : [])] });
}

describe("createIdleTimeoutInterceptor (connect-node)", { concurrency: true }, () => {
  const chat = async (port: number, idleTimeoutMs: number) => {
    const transport = createGrpcTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      interceptors: [createIdleTimeoutInterceptor({ idleTimeoutMs })],
    });
    const received: number[] = [];
    const start = performance.now();
    try {
      for await (const response of createClient(ChatService, transport).chat({ name: "idle" }))
        received.push(response.index);
      return { received, ms: performance.now() - start, error: undefined };
    } catch (e) {
      return { received, ms: performance.now() - start, error: ConnectError.from(e) };
    }
  };

  test("a stalled stream ends deadline_exceeded, and the server hears the call go", async () => {
    const { server, port } = await startChatServer("server", true);
    try {
      const r = await chat(port, idleMs);
      assert.equal(r.error?.code, Code.DeadlineExceeded);
      assert.equal(r.error?.rawMessage, `idle timeout: no message for ${idleMs} ms`);
      assert.deepEqual(r.received, [1]);
      assert.ok(r.ms >= idleMs, `ended after ${r.ms} ms`);
      await server.waitForLine(/^stream 1 client gone: canceled/, 2000);
    } finally {
      await server.stop();
    }
  });

  test("a healthy stream with pauses shorter than the timeout is left alone", async () => {
    const { server, port } = await startChatServer("server", false);
    try {
      const r = await chat(port, idleMs);
      assert.equal(r.error, undefined);
      assert.deepEqual(r.received, [1, 2, 3]);
    } finally {
      await server.stop();
    }
  });
});

describe("createGrpcJsIdleTimeoutInterceptor (grpc-js)", { concurrency: true }, () => {
  const chat = (port: number, idleTimeoutMs: number) =>
    new Promise<{ status: grpc.StatusObject; received: number[] }>((resolve) => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        interceptors: [createGrpcJsIdleTimeoutInterceptor({ idleTimeoutMs })],
      });
      const received: number[] = [];
      const call = client.makeServerStreamRequest(
        chatServiceDefinition.chat.path,
        chatServiceDefinition.chat.requestSerialize,
        chatServiceDefinition.chat.responseDeserialize,
        create(ChatRequestSchema, { name: "idle" }),
      );
      call.on("data", (response: { index: number }) => received.push(response.index));
      call.on("error", () => {});
      call.on("status", (status: grpc.StatusObject) => {
        client.close();
        resolve({ status, received });
      });
    });

  test("a stalled stream ends DEADLINE_EXCEEDED, and the server hears the call go", async () => {
    const { server, port } = await startChatServer("peers/grpc-js-server", true);
    try {
      const r = await chat(port, idleMs);
      assert.equal(r.status.code, grpc.status.DEADLINE_EXCEEDED);
      assert.equal(r.status.details, `idle timeout: no message for ${idleMs} ms`);
      assert.deepEqual(r.received, [1]);
      await server.waitForLine(/^stream 1 client gone: canceled/, 2000);
    } finally {
      await server.stop();
    }
  });

  test("a healthy stream with pauses shorter than the timeout is left alone", async () => {
    const { server, port } = await startChatServer("peers/grpc-js-server", false);
    try {
      const r = await chat(port, idleMs);
      assert.equal(r.status.code, grpc.status.OK);
      assert.deepEqual(r.received, [1, 2, 3]);
    } finally {
      await server.stop();
    }
  });
});
