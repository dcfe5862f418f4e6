/**
 * The kernel's queues as evidence (issue 22): what a relay reads from a
 * process after a given moment was either in the kernel then, or sent after.
 * The sender is a Python process of its own (no code shared with the relay),
 * and the relay's event loop is kept busy, as a loaded lab's is, while the
 * bytes arrive.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createRelay } from "./relay.ts";
import { socketKey, tcpQueues } from "./tcp-queues.ts";

/** A TCP server that sends 20 000 bytes on SIGUSR1 and 5 000 on SIGUSR2 to the one who connected. */
const sender = `
import signal, socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
signal.signal(signal.SIGUSR1, lambda *_: c.sendall(b"a" * 20000))
signal.signal(signal.SIGUSR2, lambda *_: c.sendall(b"b" * 5000))
print("accepted", flush=True)
while True: time.sleep(1)
`;

test("bytes the relay reads after a moment are those the kernel held then, plus what was sent after", async () => {
  const python = spawn("python3", ["-c", sender], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = python.stdout.setEncoding("utf8");
  const port = Number(String((await once(lines, "data"))[0]).trim());
  const relay = await createRelay({ targetPort: port, decode: false });
  const client = connect({ host: "127.0.0.1", port: relay.port });
  try {
    client.on("error", () => {});
    client.resume();
    await once(lines, "data");
    for (let i = 0; i < 400 && relay.connections[0]?.upstreamPort === undefined; i++) await sleep(5);
    const conn = relay.connections[0];
    // The relay's loop is busy (as a loaded lab's is) while the 20 000 bytes arrive: the kernel
    // holds them, in the sender's send queue or the relay's receive queue.
    python.kill("SIGUSR1");
    const relayLeg = { ip: "127.0.0.1", port: conn.upstreamPort ?? 0 };
    const senderLeg = { ip: "127.0.0.1", port };
    const inKernel = () => {
      const q = tcpQueues();
      return (q.get(socketKey(relayLeg, senderLeg))?.rx ?? 0) + (q.get(socketKey(senderLeg, relayLeg))?.tx ?? 0);
    };
    for (const until = performance.now() + 5000; inKernel() < 20_000 && performance.now() < until; ) {}
    const held = relay.heldFrom("server", tcpQueues()).get(conn);
    assert.ok(held, "the connection is listed");
    assert.deepEqual(held, { read: 0, queued: 20_000 });
    python.kill("SIGUSR2");
    for (let i = 0; i < 400 && conn.forwarded.s2c < 25_000; i++) await sleep(5);
    assert.equal(conn.forwarded.s2c, 25_000);
    // Read afterwards, beyond what the kernel held: exactly what was sent after the moment.
    assert.equal(conn.forwarded.s2c - held.read - held.queued, 5_000);
  } finally {
    client.destroy();
    await relay.close();
    python.kill("SIGKILL");
  }
});
