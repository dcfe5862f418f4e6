import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createFaultProxy } from "./fault-proxy.ts";

// A real TCP echo server behind the proxy.
let echo: Server;
let echoPort: number;
const serverSockets = new Set<Socket>();
before(async () => {
  echo = createServer((socket) => {
    serverSockets.add(socket);
    socket.on("close", () => serverSockets.delete(socket));
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  echo.listen(0, "127.0.0.1");
  await once(echo, "listening");
  const address = echo.address();
  echoPort = typeof address === "object" && address ? address.port : 0;
});
after(() => echo.close());

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  await once(socket, "connect");
  return socket;
}

async function roundTrip(socket: Socket, text: string, waitMs = 500): Promise<string | undefined> {
  socket.write(text);
  const reply = once(socket, "data").then(([data]) => String(data));
  return Promise.race([reply, sleep(waitMs).then(() => undefined)]);
}

test("forward passes bytes both ways; blackhole passes nothing and closes nothing", async () => {
  const proxy = await createFaultProxy({ targetPort: echoPort });
  const socket = await open(proxy.port);
  try {
    assert.equal(await roundTrip(socket, "ping"), "ping");
    proxy.setMode("blackhole");
    let closed = false;
    socket.on("close", () => {
      closed = true;
    });
    assert.equal(await roundTrip(socket, "anyone?", 300), undefined);
    assert.equal(closed, false, "a blackhole must not close the client's connection");
    assert.equal(proxy.connections, 1);
    assert.equal(serverSockets.size, 1, "nor the server's");
  } finally {
    socket.destroy();
    await proxy.close();
  }
});

test("reset sends RST to both sides", async () => {
  const proxy = await createFaultProxy({ targetPort: echoPort });
  const socket = await open(proxy.port);
  try {
    assert.equal(await roundTrip(socket, "ping"), "ping");
    const error = once(socket, "error");
    proxy.setMode("reset");
    const [e] = await error;
    assert.equal((e as NodeJS.ErrnoException).code, "ECONNRESET");
    // The server's side goes too.
    for (let i = 0; i < 50 && serverSockets.size > 0; i++) await sleep(10);
    assert.equal(serverSockets.size, 0);
  } finally {
    socket.destroy();
    await proxy.close();
  }
});

test("close() leaves no socket and no listener behind", async () => {
  const proxy = await createFaultProxy({ targetPort: echoPort });
  const socket = await open(proxy.port);
  assert.equal(await roundTrip(socket, "ping"), "ping");
  proxy.setMode("blackhole");
  const closed = once(socket, "close");
  await proxy.close();
  await closed;
  assert.equal(proxy.connections, 0);
  for (let i = 0; i < 50 && serverSockets.size > 0; i++) await sleep(10);
  assert.equal(serverSockets.size, 0);
  const refused = connect({ host: "127.0.0.1", port: proxy.port });
  const [e] = await once(refused, "error");
  assert.equal((e as NodeJS.ErrnoException).code, "ECONNREFUSED");
});
