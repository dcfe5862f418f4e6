/** PING round trips as the tap saw them, either side's (issue 29: a server's keepalive answered late). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pingAckDelays } from "./evidence.ts";
import type { TapFrame } from "./relay.ts";

const ping = (dir: "c2s" | "s2c", at: number, opaque: string, ack = false, dropped = false): TapFrame => ({
  dir,
  at,
  type: "PING",
  stream: 0,
  flags: ack ? ["ACK"] : [],
  length: 8,
  opaque,
  ...(dropped && { dropped: true as const }),
});

test("a PING's ACK is timed from the side that sent the PING, and a dropped ACK never came", () => {
  // The server's PING at 10154.1 ms, the client side's ACK at 10518.8 ms (a --full run, grpc-java).
  const frames = [
    ping("s2c", 10154.1, "dead"),
    ping("c2s", 10518.8, "dead", true),
    ping("c2s", 20000, "beef"),
    ping("s2c", 20000.5, "beef", true, true),
  ];
  assert.deepEqual(
    pingAckDelays(frames, "server").map((d) => d.ackMs && Math.round(d.ackMs * 10) / 10),
    [364.7],
  );
  // The client's own PING: its ACK was read and not passed on (a blackhole): no answer.
  assert.deepEqual(
    pingAckDelays(frames).map((d) => d.ackMs),
    [undefined],
  );
});
