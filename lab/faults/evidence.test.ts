/** PING round trips as the tap saw them, either side's (issue 29: a server's keepalive answered late). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Observation, pingAckDelays, processStopped } from "./evidence.ts";
import type { TapConnection, TapFrame } from "./relay.ts";

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

test("a stopped server whose side of the connection reset under the run: no evidence of the fault", () => {
  // idle-then-suspend against connect-go in a --full run (2026-12-05): SIGSTOP at 0, the call's
  // second stream at 1608.7 ms, then an RST from the server's side at 2196.6 ms.
  const conn: TapConnection = {
    id: 1,
    clientPort: 60960,
    upstreamPort: 45916,
    frames: [
      {
        dir: "c2s",
        at: 1608.7,
        type: "HEADERS",
        stream: 3,
        flags: ["END_HEADERS"],
        length: 40,
        headers: [[":path", "/chat.v1.ChatService/Chat"]],
      },
    ],
    tcp: [
      { at: -484.9, leg: "client", event: "open", by: "client" },
      { at: -473.1, leg: "server", event: "open", by: "relay" },
    ],
    forwarded: { c2s: 310, s2c: 417 },
    dropped: { c2s: 0, s2c: 0 },
    undecodable: {},
  };
  const observed = (c: TapConnection): Observation => ({
    faultAt: 0,
    endAt: 2209,
    connections: [c],
    count: 3,
    server: { stopped: true },
  });
  assert.equal(processStopped().check(observed(conn)), undefined);
  const reset = {
    ...conn,
    tcp: [...conn.tcp, { at: 2196.6, leg: "server" as const, event: "reset" as const, by: "server" as const }],
  };
  assert.equal(
    processStopped().check(observed(reset)),
    "the stopped server's side reset its connection 2197 ms after the fault: it was killed or resumed under the run",
  );
});
