/**
 * Fresh servers a scene only stopped serve later scenes (issue 29): resumed, answering, with the
 * same flags only, never under --isolate, and a warm-up that waits for them instead of starting one.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { serverStacks } from "../catalogue/stacks.ts";
import { buildEntries, bundlePath } from "./build.ts";
import { startedChildren } from "./child-process.ts";
import { procStat } from "./proc-stat.ts";
import { createServerPool, type RunningServer } from "./server-pool.ts";

const connect = serverStacks.find((s) => s.id === "connect");
const flags = ["--interval-ms", "50"];

before(() => buildEntries());

/** The process's state letter, as the kernel tells it (T: stopped). */
const state = (server: RunningServer) => procStat(server.child.pid)?.[0];

async function stopped(server: RunningServer): Promise<void> {
  server.child.signal("SIGSTOP");
  for (let i = 0; i < 100 && state(server) !== "T"; i++) await sleep(10);
  assert.equal(state(server), "T", "the kernel saw the server stopped");
}

/** A Chat call on a connection of its own: how many messages came, and the grpc-status. */
function chat(port: number): Promise<{ messages: number; status: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": "/chat.v1.ChatService/Chat",
      "content-type": "application/grpc",
      te: "trailers",
    });
    let messages = 0;
    let status: string | undefined;
    req.on("data", () => messages++);
    req.on("trailers", (t) => {
      status = String(t["grpc-status"]);
    });
    req.on("close", () => {
      session.close();
      resolve({ messages, status });
    });
    req.on("error", reject);
    req.end(Buffer.concat([Buffer.from([0, 0, 0, 0, 6, 0x0a, 4]), Buffer.from("test")]));
  });
}

test("a server its scene only stopped serves the next fresh() with its flags, resumed and answering", async () => {
  assert.ok(connect);
  const pool = createServerPool({ peerArgs: [] });
  try {
    const first = await pool.fresh(connect, flags, true);
    await stopped(first);
    await pool.resume(connect, flags, first);
    assert.notEqual(state(first), "T", "resumed");
    const started = startedChildren();
    const other = await pool.fresh(connect, ["--interval-ms", "60"]);
    assert.notEqual(other.child.pid, first.child.pid, "other flags: a server of its own");
    const again = await pool.fresh(connect, flags);
    assert.equal(again.child.pid, first.child.pid, "the same flags: the resumed one");
    assert.equal(startedChildren(), started + 1, "only the one with other flags was started");
    assert.deepEqual(await chat(again.port), { messages: 3, status: "0" });
  } finally {
    await pool.close();
  }
});

test("without reuse (--isolate), for your own server, or once its process is gone, a server given back is ended", async () => {
  assert.ok(connect);
  const isolated = createServerPool({ peerArgs: [], reuse: false });
  const pool = createServerPool({ peerArgs: [] });
  try {
    const kept = await isolated.fresh(connect, flags, true);
    const started = startedChildren();
    isolated.warm(connect, flags);
    assert.equal(startedChildren(), started + 1, "warmed ahead as ever: nothing will be given back");
    await stopped(kept);
    await isolated.resume(connect, flags, kept);
    assert.ok(kept.child.exit, "ended, not kept");
    const next = await isolated.fresh(connect, flags);
    assert.notEqual(next.child.pid, kept.child.pid);

    // Your own server (issue 28): a command, started anew for every scene.
    const yours = {
      ...connect,
      program: { kind: "command", command: `${process.execPath} ${bundlePath("server")} --port {port}`, name: "yours" },
    } as const;
    const own = await pool.fresh(yours, flags, true);
    await stopped(own);
    await pool.resume(yours, flags, own);
    assert.ok(own.child.exit, "your server: ended, not kept");

    const dead = await pool.fresh(connect, flags, true);
    dead.child.signal("SIGKILL");
    await dead.child.exited;
    await pool.resume(connect, flags, dead);
    const fresh = await pool.fresh(connect, flags);
    assert.notEqual(fresh.child.pid, dead.child.pid, "a dead server is never handed out");
  } finally {
    await Promise.all([isolated.close(), pool.close()]);
  }
});

test("warm() starts nothing for flags whose scene under way will give its server back", async () => {
  assert.ok(connect);
  const pool = createServerPool({ peerArgs: [] });
  try {
    const first = await pool.fresh(connect, flags, true);
    const started = startedChildren();
    pool.warm(connect, flags);
    assert.equal(startedChildren(), started, "no start while the scene runs");
    pool.warm(connect, ["--interval-ms", "60"]);
    assert.equal(startedChildren(), started + 1, "other flags are warmed as before");
    await stopped(first);
    await pool.resume(connect, flags, first);
    pool.warm(connect, flags);
    const next = await pool.fresh(connect, flags);
    assert.equal(next.child.pid, first.child.pid, "the warm-up set the resumed server aside");
    assert.equal(startedChildren(), started + 1);
  } finally {
    await pool.close();
  }
});
