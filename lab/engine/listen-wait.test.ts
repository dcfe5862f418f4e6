/**
 * waitListening: a port counts as the child's only when the kernel shows the
 * child's own listener on it (real processes and sockets).
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, test } from "node:test";
import { spawnChild, stopAllChildren } from "./child-process.ts";
import { freePort } from "./free-port.ts";
import { waitListening } from "./listen-wait.ts";

after(() => stopAllChildren());

const command = (line: string) => ({ kind: "command" as const, command: line, name: "test-command" });

test("a port that another process listens on is not the child's: the wait ends in its one-line error", async () => {
  // This test's process holds the port, as another program may take a port freePort() gave up.
  const other = createServer();
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  const address = other.address();
  assert.ok(address && typeof address === "object");
  const child = spawnChild({ entry: command("sleep 30"), args: [] });
  try {
    await assert.rejects(
      waitListening(child, "127.0.0.1", address.port, 500),
      new RegExp(`did not listen on 127\\.0\\.0\\.1:${address.port} within 500 ms$`),
    );
  } finally {
    await child.stop();
    other.close();
  }
});

test("the child's own listener: the wait ends once it accepts", async () => {
  const port = await freePort();
  const child = spawnChild({
    entry: command(`${process.execPath} -e "require('node:net').createServer().listen({port}, '127.0.0.1')"`),
    args: ["--port", String(port)],
  });
  try {
    await waitListening(child, "127.0.0.1", port, 5000);
  } finally {
    await child.stop();
  }
});
