/**
 * The relay, seen from both ends by plain TCP sockets (the kernel's word,
 * not the relay's record): it passes bytes unchanged, mirrors FIN as FIN and
 * RST as RST, and in its fault modes does what it says (issue 10: test every
 * injector by something that shares no code with it).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, probePort } from "../engine/free-port.ts";
import { createRelay, resetSocket } from "./relay.ts";

/** A real TCP server behind the relay that echoes, and keeps its sockets at hand. */
let echo: Server;
let echoPort: number;
const serverSockets: Socket[] = [];
before(async () => {
  echo = createServer({ allowHalfOpen: true }, (socket) => {
    serverSockets.push(socket);
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      if (!socket.writableEnded) socket.write(chunk);
    });
  });
  echo.listen(0, "127.0.0.1");
  await once(echo, "listening");
  const address = echo.address();
  echoPort = typeof address === "object" && address ? address.port : 0;
});
after(() => echo.close());

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await once(socket, "connect");
  return socket;
}

async function roundTrip(socket: Socket, bytes: Buffer, waitMs = 500): Promise<Buffer | undefined> {
  socket.write(bytes);
  const reply = once(socket, "data").then(([data]) => data as Buffer);
  return Promise.race([reply, sleep(waitMs).then(() => undefined)]);
}

/** How a socket's peer ended the connection: "fin" (an orderly end) or the error code (ECONNRESET). */
function howItEnds(socket: Socket, waitMs = 1000): Promise<string> {
  return Promise.race([
    new Promise<string>((resolve) => {
      socket.once("end", () => resolve("fin"));
      socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    }),
    sleep(waitMs).then(() => "nothing"),
  ]);
}

test("forward passes every byte value unchanged, both ways", async () => {
  const relay = await createRelay({ targetPort: echoPort, decode: false });
  const socket = await open(relay.port);
  try {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.deepEqual(await roundTrip(socket, bytes), bytes);
  } finally {
    socket.destroy();
    await relay.close();
  }
});

test("a FIN from either side reaches the other as a FIN", async () => {
  const relay = await createRelay({ targetPort: echoPort });
  try {
    // Client first.
    const a = await open(relay.port);
    await roundTrip(a, Buffer.from("x"));
    const serverA = serverSockets[serverSockets.length - 1];
    const endA = howItEnds(serverA);
    a.end();
    assert.equal(await endA, "fin");
    // Server first.
    const b = await open(relay.port);
    await roundTrip(b, Buffer.from("y"));
    const serverB = serverSockets[serverSockets.length - 1];
    const endB = howItEnds(b);
    serverB.end();
    assert.equal(await endB, "fin");
    a.destroy();
    b.destroy();
  } finally {
    await relay.close();
  }
});

test("a reset from either side reaches the other as a reset", async () => {
  const relay = await createRelay({ targetPort: echoPort });
  try {
    const a = await open(relay.port);
    await roundTrip(a, Buffer.from("x"));
    const endA = howItEnds(serverSockets[serverSockets.length - 1]);
    a.resetAndDestroy();
    assert.equal(await endA, "ECONNRESET");
    const b = await open(relay.port);
    await roundTrip(b, Buffer.from("y"));
    const endB = howItEnds(b);
    serverSockets[serverSockets.length - 1].resetAndDestroy();
    assert.equal(await endB, "ECONNRESET");
  } finally {
    await relay.close();
  }
});

test("blackhole: nothing crosses either way, no close crosses, both connections stay open", async () => {
  const relay = await createRelay({ targetPort: echoPort });
  const socket = await open(relay.port);
  try {
    assert.ok(await roundTrip(socket, Buffer.from("ping")));
    const server = serverSockets[serverSockets.length - 1];
    let serverGot = 0;
    server.on("data", (chunk: Buffer) => {
      serverGot += chunk.length;
    });
    relay.setMode("blackhole");
    const clientEnd = howItEnds(socket, 400);
    assert.equal(await roundTrip(socket, Buffer.from("anyone?"), 300), undefined);
    server.write("late reply");
    server.end();
    assert.equal(await clientEnd, "nothing", "the server's FIN must not cross");
    assert.equal(serverGot, 0, "the client's bytes must not cross");
    assert.equal(socket.destroyed, false);
    assert.equal(relay.open, 1);
    // The record says what went nowhere.
    const record = relay.connections[0];
    assert.equal(record.dropped.c2s, "anyone?".length);
    assert.equal(record.dropped.s2c, "late reply".length);
  } finally {
    socket.destroy();
    await relay.close();
  }
});

test("reset: both peers get a reset; a new connection is reset at once", async () => {
  const relay = await createRelay({ targetPort: echoPort });
  const socket = await open(relay.port);
  try {
    assert.ok(await roundTrip(socket, Buffer.from("ping")));
    const clientEnd = howItEnds(socket);
    const serverEnd = howItEnds(serverSockets[serverSockets.length - 1]);
    relay.setMode("reset");
    assert.equal(await clientEnd, "ECONNRESET");
    assert.equal(await serverEnd, "ECONNRESET");
    const late = connect({ host: "127.0.0.1", port: relay.port });
    assert.equal(await howItEnds(late), "ECONNRESET");
  } finally {
    await relay.close();
  }
});

test("nothing listens behind it: the client is reset, the record says refused", async () => {
  const relay = await createRelay({ targetPort: await freePort() });
  try {
    const socket = connect({ host: "127.0.0.1", port: relay.port });
    assert.equal(await howItEnds(socket), "ECONNRESET");
    assert.ok(relay.connections[0].tcp.some((e) => e.leg === "server" && e.event === "refused"));
  } finally {
    await relay.close();
  }
});

test("close() leaves no socket and no listener behind", async () => {
  const relay = await createRelay({ targetPort: echoPort });
  const socket = await open(relay.port);
  assert.ok(await roundTrip(socket, Buffer.from("ping")));
  relay.setMode("blackhole");
  const closed = once(socket, "close");
  await relay.close();
  await closed;
  assert.equal(relay.open, 0);
  const refused = connect({ host: "127.0.0.1", port: relay.port });
  const [e] = await once(refused, "error");
  assert.equal((e as NodeJS.ErrnoException).code, "ECONNREFUSED");
});

// Resetting a socket whose FIN is on its way out: libuv refuses (EINVAL) and Node 20 then drops the
// handle unclosed, so the process spins at exit (issue 14: the lab did, after a HAProxy run).
test("resetSocket right after end(): the peer gets the FIN, then the reset; no handle is left behind", async () => {
  const leaked = () =>
    (process as unknown as { _getActiveHandles(): { destroyed?: boolean }[] })
      ._getActiveHandles()
      .filter((h) => h.destroyed === true).length;
  await sleep(50);
  const before = leaked();
  for (const when of ["same tick", "next tick"] as const) {
    const socket = await open(echoPort);
    await sleep(20);
    const peer = serverSockets[serverSockets.length - 1];
    const seen: string[] = [];
    peer.on("end", () => seen.push("fin"));
    peer.on("error", (e: NodeJS.ErrnoException) => seen.push(e.code ?? "error"));
    let resetAt: number | undefined;
    socket.end();
    const reset = () =>
      resetSocket(socket, () => {
        resetAt = performance.now();
      });
    if (when === "same tick") reset();
    else process.nextTick(reset);
    for (let i = 0; i < 100 && seen.length < 1; i++) await sleep(10);
    // The peer's reading is over: a write of its own tells whether the connection was reset.
    await sleep(50);
    peer.write("x");
    for (let i = 0; i < 100 && seen.length < 2; i++) await sleep(10);
    assert.equal(seen[0], "fin", when);
    assert.ok(["ECONNRESET", "EPIPE"].includes(seen[1]), `${when}: after the FIN the peer saw ${seen[1]}`);
    assert.ok(resetAt !== undefined, `${when}: the reset was not reported`);
  }
  await sleep(50);
  assert.ok(leaked() <= before, `${leaked()} destroyed socket(s) with their handle still open, ${before} before`);
});

test("blackhole of the existing connections only: the open one goes silent, a new one passes (issue 17)", async () => {
  const relay = await createRelay({ targetPort: echoPort });
  const old = await open(relay.port);
  try {
    assert.ok(await roundTrip(old, Buffer.from("before")));
    relay.setMode("blackhole", "existing");
    assert.equal(await roundTrip(old, Buffer.from("lost"), 300), undefined, "the open connection is silent");
    const fresh = await open(relay.port);
    assert.deepEqual(await roundTrip(fresh, Buffer.from("new")), Buffer.from("new"), "a new connection passes");
    assert.equal(relay.mode, "forward");
    fresh.destroy();
  } finally {
    old.destroy();
    await relay.close();
  }
});

test("pause: a new connection is refused as by a dead server, the open one goes on; resume listens again on the same port", async () => {
  const relay = await createRelay({ targetPort: echoPort });
  const old = await open(relay.port);
  try {
    await relay.pause();
    const refused = await probePort(relay.port);
    assert.equal(refused, "ECONNREFUSED");
    assert.ok(await roundTrip(old, Buffer.from("still")), "the open connection goes on");
    await relay.resume();
    const again = await open(relay.port);
    assert.deepEqual(await roundTrip(again, Buffer.from("back")), Buffer.from("back"));
    again.destroy();
  } finally {
    old.destroy();
    await relay.close();
  }
});

test("resume with a successor's port: new connections reach the successor, on the relay's same port", async () => {
  // A successor that answers differently from the echo server, so the test sees which one it reached.
  const successor = createServer((socket) =>
    socket.on("data", (chunk) => socket.write(Buffer.concat([Buffer.from("2:"), chunk]))),
  );
  successor.listen(0, "127.0.0.1");
  await once(successor, "listening");
  const address = successor.address();
  assert.ok(typeof address === "object" && address !== null);
  const relay = await createRelay({ targetPort: echoPort });
  try {
    await relay.pause();
    await relay.resume(address.port);
    const socket = await open(relay.port);
    assert.deepEqual(await roundTrip(socket, Buffer.from("hi")), Buffer.from("2:hi"));
    socket.destroy();
  } finally {
    await relay.close();
    successor.close();
  }
});
