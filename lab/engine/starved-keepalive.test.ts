/**
 * starvedKeepalive on the tap's record of real runs: which keepalive ends
 * measured the machine, and which the fault.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TapConnection, TapFrame } from "../faults/relay.ts";
import { type KeepaliveEnd, starvedKeepalive } from "./starved-keepalive.ts";

type Leg = Pick<TapConnection, "frames" | "tcp">;
const frame = (at: number, dir: TapFrame["dir"], type: TapFrame["type"], more: Partial<TapFrame> = {}): TapFrame => ({
  at,
  dir,
  type,
  stream: 0,
  flags: [],
  length: 8,
  ...more,
});
const ping = (at: number, opaque: string, ack = false) =>
  frame(at, ack ? "s2c" : "c2s", "PING", { opaque, flags: ack ? ["ACK"] : [] });

// grpc-js behind nginx, the server stopped (nginx/suspend+keepalive, a --full run on 2026-12-05):
// its PINGs passed the relay at 90.8 and 660.9 ms, nginx's ACKs 41 and 104 ms later; the client
// said "Connection dropped" at 733 ms, before the second ACK reached it.
const behindNginx: Leg = {
  frames: [
    ping(90.8, "ae95627b23180000"),
    ping(132.1, "ae95627b23180000", true),
    ping(660.9, "b6f10a9723180000"),
    ping(764.7, "b6f10a9723180000", true),
  ],
  tcp: [{ at: -272.8, leg: "client", event: "open", by: "client" }],
};
const end = (more: Partial<KeepaliveEnd> = {}): KeepaliveEnd => ({
  connections: [behindNginx],
  endedAt: 733,
  message: "Connection dropped",
  timeoutMs: 250,
  keepaliveOn: true,
  ...more,
});

test("a client that gave up 72 ms after an answered PING, nothing closed by the far side: starved", () => {
  assert.match(
    starvedKeepalive(end()) ?? "",
    /gave up on a keepalive PING 72 ms after it left, and its ACK came 104 ms after it, within its 250 ms/,
  );
});

test("the same end without the lab's keepalive, and a message that does not say keepalive: not judged", () => {
  assert.equal(starvedKeepalive(end({ keepaliveOn: false })), undefined);
});

test("the far side ended it first (a GOAWAY, or a reset of the client leg): the fault's, not the machine's", () => {
  const goaway = frame(700, "s2c", "GOAWAY");
  assert.equal(
    starvedKeepalive(end({ connections: [{ ...behindNginx, frames: [...behindNginx.frames, goaway] }] })),
    undefined,
  );
  const reset = { at: 720, leg: "client" as const, event: "reset" as const, by: "relay" as const };
  assert.equal(
    starvedKeepalive(end({ connections: [{ ...behindNginx, tcp: [...behindNginx.tcp, reset] }] })),
    undefined,
  );
});

test("a stopped server's PING never answered, the client gone at its timeout: the fault's", () => {
  const stopped: Leg = { frames: [ping(90, "a1", false), ping(120, "a1", true), ping(500, "b2")], tcp: [] };
  assert.equal(starvedKeepalive(end({ connections: [stopped], endedAt: 752 })), undefined);
});

test("an ACK later than the timeout: starved, whatever the client said", () => {
  const late: Leg = { frames: [ping(100, "c3"), ping(400, "c3", true)], tcp: [] };
  assert.match(
    starvedKeepalive(end({ connections: [late], endedAt: 360, message: "x", keepaliveOn: false })) ?? "",
    /answered a keepalive PING after more than the client's 250 ms/,
  );
});

test("tonic's PINGs all carry one payload: each ACK is matched to the PING before it, not an earlier one", () => {
  // nginx/suspend+keepalive, --full, 2026-12-05: PINGs at 207.8 and 601.8 ms, ACKs at 232.9 and 792;
  // the client said unknown "error reading a body from connection" at 734.
  const tonic: Leg = {
    frames: [ping(207.8, "3b7cdb7a0b8716b4"), ping(232.9, "3b7cdb7a0b8716b4", true), ping(601.8, "3b7cdb7a0b8716b4")],
    tcp: [],
  };
  const answered = { ...tonic, frames: [...tonic.frames, ping(792, "3b7cdb7a0b8716b4", true)] };
  const message = "h2 protocol error: error reading a body from connection";
  assert.match(
    starvedKeepalive(end({ connections: [answered], endedAt: 734, message })) ?? "",
    /132 ms after it left, and its ACK came 190 ms after it/,
  );
  // Its second PING never answered (a stopped peer, no proxy), the client gone at its timeout.
  assert.equal(starvedKeepalive(end({ connections: [tonic], endedAt: 852, message })), undefined);
});

test("a client whose GOAWAY left long after it failed the call: judged by the call's end", () => {
  // connect-node behind nginx: "PING timed out" at 571 ms, 109 ms after its PING passed the relay;
  // the ACK at 587, the GOAWAY at 766.7.
  const goawayLate: Leg = {
    frames: [ping(462.3, "74cb791a93180000"), ping(587, "74cb791a93180000", true), frame(766.7, "c2s", "GOAWAY")],
    tcp: [],
  };
  assert.match(
    starvedKeepalive(end({ connections: [goawayLate], endedAt: 571, message: "PING timed out" })) ?? "",
    /109 ms after it left, and its ACK came 125 ms after it/,
  );
});
