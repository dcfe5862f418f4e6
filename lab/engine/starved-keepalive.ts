import { pingAckDelays } from "../faults/evidence.ts";
import type { TapConnection } from "../faults/relay.ts";

export interface KeepaliveEnd {
  /** The client leg's connections as the relay saw them. */
  connections: readonly Pick<TapConnection, "frames" | "tcp">[];
  /** When the client said its call ended, on the lab's clock (performance.now()). */
  endedAt: number;
  /** What the client said. */
  message: string | undefined;
  /** The client's PING timeout, ms. */
  timeoutMs: number;
  /** The run's client has the lab's keepalive on (--ping-timeout-ms). */
  keepaliveOn: boolean;
}

/**
 * Why a call that ended in an error (unavailable, internal, unknown) measured
 * the machine rather than the fault: its client gave up on a keepalive PING
 * whose ACK the load, not the far side, kept from it. Undefined when nothing
 * says so. Such a run is tried again, never a finding.
 */
export function starvedKeepalive(end: KeepaliveEnd): string | undefined {
  const { timeoutMs } = end;
  // A peer that answered the client's keepalive PING, but later than the client waits for an ACK,
  // ran starved: a client that then gave up measured the machine, not the fault (seen with
  // --quick's 100 ms timeout on a saturated machine: stall+keepalive, a proxy's keepalive). (The ACK
  // may reach the relay after the client gave up; a stopped peer's never comes.)
  const frames = end.connections.flatMap((c) => c.frames);
  if (pingAckDelays(frames).some(({ ackMs }) => ackMs !== undefined && ackMs > timeoutMs)) {
    return `the peer answered a keepalive PING after more than the client's ${timeoutMs} ms, and the client gave up: the machine is too busy for these timings`;
  }
  // A client that closed its connection well short of its PING timeout after its last PING left
  // (the tap's times) had timed that PING from before a stall of its own: its event loop sent the
  // PING late, then found the timeout already past (seen in a full matrix on 2 cores, a PING of
  // connect-node's 240 ms late and the GOAWAY 11 ms after it). It measured its own load.
  // A client that says its keepalive failed: "keepalive ping failed" (grpc-go), "Keepalive failed"
  // (grpc-java), "PING timed out" (connect-node), "ping timeout" (gRPC core 1.85.1). A GOAWAY's
  // unavailable may follow a PING too ("too_many_pings" among them): that is not one.
  const saysKeepalive = /keepalive|ping time/i.test(end.message ?? "");
  for (const c of end.connections) {
    // One that does not say so (connect-go: internal "client connection lost"; tonic: unknown "error
    // reading a body from connection"; grpc-js: unavailable "Connection dropped") gave up on its
    // keepalive all the same when the lab's keepalive was on and the far side had sent it nothing
    // that ends a connection or a call (no GOAWAY, no RST_STREAM, no FIN or RST): nginx/suspend+
    // keepalive in a --full run, 2026-12-05, three agents gone 72-87 ms after their PINGs passed the
    // relay, whose ACKs came 104-116 ms after them: the lab's relays had run starved between. (Not
    // without the lab's keepalive: a BDP PING of grpc-go, gRPC core or hyper comes and goes with
    // data, and a call may end on its own just after one.)
    const farSideClosed =
      c.frames.some(
        (fr) => fr.dir === "s2c" && (fr.type === "GOAWAY" || fr.type === "RST_STREAM") && fr.at <= end.endedAt,
      ) || c.tcp.some((t) => t.leg === "client" && t.by !== "client" && t.event !== "open" && t.at <= end.endedAt);
    const keepaliveFailed = saysKeepalive || (end.keepaliveOn && !farSideClosed);
    const pings = pingAckDelays(c.frames);
    // The PING the client gave up on: the first one never answered (a client may PING again while it
    // waits: connect-node does, every interval).
    const first = pings.find(({ ackMs }) => ackMs === undefined)?.ping;
    // Its GOAWAY, or (grpc-java sends none) the call's end, whichever came first: a starved client
    // may send its GOAWAY long after it failed the call (connect-node: "PING timed out" 109 ms after
    // its PING passed the relay, its GOAWAY 304 ms after it).
    const close = c.frames.find((fr) => fr.dir === "c2s" && fr.type === "GOAWAY" && fr.at >= (first?.at ?? 0));
    const gaveUpAt = Math.min(close?.at ?? end.endedAt, end.endedAt);
    const { ping: last, ackMs } = pings[pings.length - 1] ?? {};
    // Every PING answered, the last one's ACK on the wire within the timeout of the PING leaving, and
    // the client gave up before that timeout had passed since the PING left: it had timed the PING
    // from before it sent it (seen at grpc-go's and grpc-java's 10 s clamp on a busy machine: the PING
    // left 90-160 ms late, its ACK 100-170 ms after it, the client gone 94 ms after it).
    if (
      !first &&
      keepaliveFailed &&
      last &&
      ackMs !== undefined &&
      ackMs < timeoutMs &&
      gaveUpAt - last.at < timeoutMs
    ) {
      return `the client gave up on a keepalive PING ${Math.round(gaveUpAt - last.at)} ms after it left, and its ACK came ${Math.round(ackMs)} ms after it, within its ${timeoutMs} ms: it sent the PING late, starved itself; the machine is too busy for these timings`;
    }
    const gaveUp = keepaliveFailed ? gaveUpAt : close?.at;
    if (first && gaveUp !== undefined && gaveUp >= first.at && gaveUp - first.at < timeoutMs / 2) {
      return `the client gave up on a keepalive PING ${Math.round(gaveUp - first.at)} ms after it left, short of its ${timeoutMs} ms: it sent the PING late, starved itself; the machine is too busy for these timings`;
    }
  }
  return undefined;
}
