/**
 * The evidence a fault must leave, checked on every run (issue 10: a fault
 * counts only when it is seen to have happened, by something that shares no
 * code with what injected it). The wire tap (relay.ts, rpc-wire.ts) reads
 * the frames and TCP events; /proc and the kernel's exit status tell what
 * happened to a process. A run whose evidence is missing is a lab error,
 * never a finding.
 */
import type { TapConnection, TapFrame } from "./relay.ts";

/** What the lab saw of one run, for its evidence checks. Times are the lab's performance.now(). */
export interface Observation {
  /** When the fault took effect (its last step), or undefined for a run without one. */
  faultAt: number | undefined;
  /** When the client gave its result, or the watchdog fired. */
  endAt: number;
  /** Every connection through the run's relay, in order (behind a proxy: the client-proxy hop's). */
  connections: readonly TapConnection[];
  /** Behind a proxy: every connection through the proxy-server hop's relay (health checks among them). */
  upstream?: readonly TapConnection[];
  /** Responses per stream the server was told to send. */
  count: number;
  /**
   * The run's stacks have settings other than the lab's (a --profile or a
   * knob case, issue 18): their own keepalive may close a silent hop's far end.
   */
  ownSettings?: boolean;
  /** The server process, where the case acts on it. */
  server?: {
    /** Seen stopped (state T in /proc) after the SIGSTOP. */
    stopped?: boolean;
    /** Seen alive and not stopped when the run ended. */
    running?: boolean;
    /** How it exited, when it did. */
    exit?: { code: number | null; signal: string | null };
  };
  /** No-server: a connection to the port was refused just before the call. */
  refused?: boolean;
  /**
   * The moment the stopped process (the server, or the client in the
   * server's view) was seen stopped: per connection, the bytes the relay
   * had read from it, and the bytes it had sent that the kernel still held
   * (relay.heldFrom). Whatever the relay reads later must come from those.
   */
  heldAtStop?: ReadonlyMap<TapConnection, { read: number; queued: number }>;
  /**
   * The same, read when a check asks (it reads /proc/net/tcp: only the checks that need it): bytes
   * the server side sent that the relay has not read yet.
   */
  heldNow?: () => ReadonlyMap<TapConnection, { read: number; queued: number }>;
  /** The client process, where the case acts on it (the server's view). */
  client?: {
    stopped?: boolean;
    exit?: { code: number | null; signal: string | null };
  };
}

/**
 * How a reason ends when the run went wrong on the lab's own timing (its
 * relays lagged on a busy machine), not on the injector: the engine runs it
 * again (a reason without it is never retried: the report must show it).
 */
export const tooBusy = "the machine is too busy for these timings";

export interface Evidence {
  /** What the fault must leave, in a few words: the report's column. */
  says: string;
  /**
   * How long to keep watching after the client's result before checking, ms:
   * for evidence that follows the moment the client reacted (the peer closes
   * its connection 50 ms after its GOAWAY). Default: 0.
   */
  lingerMs?: number;
  /** Undefined when the evidence is there; otherwise what was missing or wrong. */
  check(o: Observation): string | undefined;
}

/** The path of a proxy's health checks (issue 14): their requests are not the call. */
const healthCheckPath = "/grpc.health.v1.Health/Check";

/**
 * The connection and stream that carried the call: the first request on the
 * first connection that has one, a proxy's health checks left aside.
 */
/**
 * One side let go of the call after `since`: its GOAWAY or RST_STREAM of the call's stream (a frame
 * later than `since`), or its end of the TCP connection (from `since` on). The call's end from that
 * side, where no status can follow.
 */
function letGo(call: { conn: TapConnection; id: number }, by: "client" | "server", since = -Infinity): boolean {
  const dir = by === "client" ? "c2s" : "s2c";
  return (
    call.conn.frames.some(
      (f) =>
        f.dir === dir && f.at > since && (f.type === "GOAWAY" || (f.type === "RST_STREAM" && f.stream === call.id)),
    ) || call.conn.tcp.some((e) => e.leg === by && e.by === by && e.event !== "open" && e.at >= since)
  );
}

function callStream(o: Observation): { conn: TapConnection; id: number } | undefined {
  return callOf(o.connections);
}

/**
 * The connection and stream that carry the call: the first request but the
 * health checks'. A client may open connections that carry nothing (Chromium
 * opens two TLS connections at once and leaves one idle, issue 19).
 */
export function callOf(connections: readonly TapConnection[]): { conn: TapConnection; id: number } | undefined {
  for (const conn of connections) {
    const headers = conn.frames.find(
      (f) =>
        f.dir === "c2s" &&
        f.type === "HEADERS" &&
        f.headers?.some(([k, v]) => k === ":path" && v !== healthCheckPath) === true,
    );
    if (headers) return { conn, id: headers.stream };
  }
  return undefined;
}

const onStream = (frames: readonly TapFrame[], id: number) => frames.filter((f) => f.stream === id);
const describe = (f: TapFrame) =>
  `${f.dir} ${f.type}${f.error ? `(${f.error})` : ""}${f.flags.includes("END_STREAM") ? "+END_STREAM" : ""}`;
const seen = (frames: readonly TapFrame[]) =>
  frames.length === 0 ? "nothing" : frames.slice(0, 8).map(describe).join(", ") + (frames.length > 8 ? ", ..." : "");
export const noCall = "no request went through the tap";

/**
 * Each PING one side sent (the client's unless said), and how long the other side's ACK took to
 * cross the tap (undefined: none came, or the relay dropped it). Its ACK is the first with its
 * payload after it: tonic sends every PING with the same one.
 */
export function pingAckDelays(
  frames: readonly TapFrame[],
  from: "client" | "server" = "client",
): { ping: TapFrame; ackMs: number | undefined }[] {
  const [out, back] = from === "client" ? (["c2s", "s2c"] as const) : (["s2c", "c2s"] as const);
  return frames
    .filter((p) => p.dir === out && p.type === "PING" && !p.flags.includes("ACK"))
    .map((ping) => {
      const ack = frames.find(
        (f) =>
          f.dir === back &&
          f.type === "PING" &&
          f.flags.includes("ACK") &&
          !f.dropped &&
          f.opaque === ping.opaque &&
          f.at >= ping.at,
      );
      return { ping, ackMs: ack && ack.at - ping.at };
    });
}

/** The client's PINGs (not ACKs) that no ACK answered before `until`, matched by their opaque data. */
function unansweredPings(frames: readonly TapFrame[], until = Number.POSITIVE_INFINITY): TapFrame[] {
  const pending: TapFrame[] = [];
  for (const f of frames) {
    if (f.type !== "PING" || f.at > until) continue;
    if (f.dir === "c2s" && !f.flags.includes("ACK")) pending.push(f);
    else if (f.dir === "s2c" && f.flags.includes("ACK") && !f.dropped) {
      const i = pending.findIndex((p) => p.opaque === f.opaque);
      if (i >= 0) pending.splice(i, 1);
    }
  }
  return pending;
}

/** A status with this code reached the wire (trailers, a gRPC-Web trailer frame or a Connect end-stream message). */
export function statusOnWire(code: string): Evidence {
  return {
    says: `status ${code} on the wire`,
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const statuses = onStream(call.conn.frames, call.id).filter((f) => f.dir === "s2c" && f.status);
      if (statuses.some((f) => f.status?.code === code)) return undefined;
      // Settings of a user's (a --profile, issue 18) may end the call first, from the client's side:
      // its deadline, or grpc-js keepalive dropping a connection that got GOAWAY. No status can
      // come then; the client's own end of the call is on the wire instead.
      if (o.ownSettings && statuses.length === 0 && letGo(call, "client")) return undefined;
      return statuses.length === 0
        ? `no status left the server (saw ${seen(onStream(call.conn.frames, call.id))})`
        : `the status on the wire was ${statuses.map((f) => f.status?.code ?? "none").join(", ")}`;
    },
  };
}

/** Message 1 in DATA without END_STREAM, then RST_STREAM(code) from the server on an open stream. */
export function resetAfterMessage(code: number, name: string): Evidence {
  return {
    says: `message 1 in DATA without END_STREAM, then RST_STREAM(${name}) from the server`,
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const frames = onStream(call.conn.frames, call.id).filter((f) => f.dir === "s2c");
      const first = frames.findIndex((f) => f.envelopes?.some((e) => e.kind === "message" && e.index === 1));
      const rst = frames.findIndex((f) => f.type === "RST_STREAM");
      if (first < 0) return `message 1 never reached the wire (saw ${seen(frames)})`;
      if (rst < 0) return `no RST_STREAM from the server (saw ${seen(frames)})`;
      if (frames[rst].errorCode !== code) return `the server reset with ${frames[rst].error}, not ${name}`;
      const ended = frames.slice(0, rst).find((f) => f.flags.includes("END_STREAM"));
      if (ended) return `the stream had ended (${describe(ended)}) before the reset: the client read a clean end`;
      return undefined;
    },
  };
}

/** GOAWAY(code) whose last-stream-id covers the call, then the connection closes. */
export function goawayThenClose(code: number, name: string): Evidence {
  return {
    says: `GOAWAY(${name}) covering the stream, then the connection closes`,
    lingerMs: 200,
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const goaway = call.conn.frames.find((f) => f.dir === "s2c" && f.type === "GOAWAY");
      if (!goaway) return `no GOAWAY from the server (saw ${seen(call.conn.frames.filter((f) => f.dir === "s2c"))})`;
      if (goaway.errorCode !== code) return `GOAWAY carried ${goaway.error}, not ${name}`;
      if ((goaway.lastStreamId ?? 0) < call.id)
        return `GOAWAY's last-stream-id ${goaway.lastStreamId} does not cover stream ${call.id}`;
      // Either side may close first: a client that reads an error code in the GOAWAY hangs up at once.
      const closed = call.conn.tcp.find(
        (e) => e.by !== "relay" && (e.event === "fin" || e.event === "reset") && e.at >= goaway.at,
      );
      return closed ? undefined : "the connection did not close after the GOAWAY";
    },
  };
}

/** After the fault: GOAWAY, then the rest of the stream, then an ok status (a graceful drain). */
export function drainedAfterGoaway(): Evidence {
  return {
    says: "GOAWAY, then the rest of the stream, then status ok",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const from = o.faultAt ?? 0;
      const goaway = call.conn.frames.find((f) => f.dir === "s2c" && f.type === "GOAWAY" && f.at >= from);
      if (!goaway) return "no GOAWAY from the server after the signal";
      const after = onStream(call.conn.frames, call.id).filter((f) => f.dir === "s2c" && f.at >= goaway.at);
      const last = Math.max(0, ...after.flatMap((f) => f.envelopes?.map((e) => e.index ?? 0) ?? []));
      if (last < o.count) {
        // The drain began, and the connection ended before the stream did, without a reset of the
        // stream from the server: the client let go (its GOAWAY, reset or close), or the server's
        // end closed (grpc-js with keepalive PINGs a draining session, fails, and destroys it:
        // issue 18). What the client made of it is the finding; a killed server sends no GOAWAY.
        const reset = after.some((f) => f.type === "RST_STREAM" || f.status !== undefined);
        if (!reset && (letGo(call, "client", goaway.at) || letGo(call, "server", goaway.at))) return undefined;
        return `after the GOAWAY the stream got to message ${last} of ${o.count}`;
      }
      return after.some((f) => f.status?.code === "ok") ? undefined : "no ok status after the GOAWAY";
    },
  };
}

/**
 * A GOAWAY from the server after the fault (a drain began); or, where the client let go of the
 * connection first, the server's status on the call after the fault, before the client's close:
 * with zero grace the server ends the stream at once, and a client that closes its connection on
 * the status (connect-go's and grpc-go's clients, 2-4 ms after it) leaves no connection for the
 * GOAWAY that http.Server.Shutdown() writes from the connection's own goroutine (seen in a default
 * run: the status at 1 ms, the client's FIN at 3-4 ms, no GOAWAY).
 */
export function goawayAfterFault(): Evidence {
  return {
    says: "GOAWAY from the server (or its status, when the client closed the connection first)",
    // The GOAWAY may leave after the status (0-2 ms, connect-go), past the client's end.
    lingerMs: 100,
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const from = o.faultAt ?? 0;
      if (call.conn.frames.some((f) => f.dir === "s2c" && f.type === "GOAWAY" && f.at >= from)) return undefined;
      const clientClosed = call.conn.tcp.find(
        (e) => e.leg === "client" && e.by === "client" && e.event !== "open" && e.at >= from,
      )?.at;
      const status = call.conn.frames.find(
        (f) => f.dir === "s2c" && f.stream === call.id && f.status !== undefined && f.at >= from,
      );
      return status && clientClosed !== undefined && status.at <= clientClosed
        ? undefined
        : "no GOAWAY from the server after the signal";
    },
  };
}

/** After the signal the server ended the call on the wire: GOAWAY, RST_STREAM, or its end of the connection closed. */
export function serverLetGo(): Evidence {
  return {
    says: "GOAWAY, RST_STREAM or a closed connection from the server",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const from = o.faultAt ?? 0;
      const frame = call.conn.frames.some(
        (f) =>
          f.dir === "s2c" && f.at >= from && (f.type === "GOAWAY" || (f.type === "RST_STREAM" && f.stream === call.id)),
      );
      const closed = call.conn.tcp.some(
        (e) => e.leg === "server" && e.by === "server" && e.event !== "open" && e.at >= from,
      );
      return frame || closed ? undefined : "the server neither sent GOAWAY or RST_STREAM nor closed the connection";
    },
  };
}

/**
 * After the switch, no byte crossed either way, and the relay closed
 * nothing; nor did the far side (`closer`) before it gave its result, where
 * nothing in the run's settings would make it: the server when the client's
 * view is watched, the client in the server's. "none" where the far side's
 * own keepalive may close its end of the silent hop (behind a proxy, on the
 * proxy-server hop; under a profile with keepalive on both sides, issue 18):
 * that close goes nowhere (the relay holds it, relay.ts), which is the point
 * of the case.
 */
export function blackholed(closer: "server" | "client" | "none" = "server"): Evidence {
  return {
    says: "no byte crosses after the switch, both sockets stay open",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const from = o.faultAt ?? 0;
      const passed = call.conn.frames.filter((f) => f.at >= from && !f.dropped);
      if (passed.length > 0) return `frames crossed after the switch: ${seen(passed)}`;
      const far = o.ownSettings ? "none" : closer;
      const closed = call.conn.tcp.find(
        (e) => e.at >= from && e.at <= o.endAt && (e.by === "relay" || e.by === far) && e.event !== "open",
      );
      return closed ? `the ${closed.leg} leg saw ${closed.event} by the ${closed.by} before the result` : undefined;
    },
  };
}

/** Both legs of the connection were reset after the switch. */
export function bothLegsReset(): Evidence {
  return {
    says: "both legs reset",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const from = o.faultAt ?? 0;
      const reset = (leg: string) => call.conn.tcp.some((e) => e.leg === leg && e.event === "reset" && e.at >= from);
      const missing = ["client", "server"].filter((leg) => !reset(leg));
      return missing.length === 0 ? undefined : `no reset on the ${missing.join(" and ")} leg`;
    },
  };
}

/** No message after message 1 reached the wire; every PING the client sent was answered. */
export function stalledButAlive(options: { pings: "answered" | "if-any" }): Evidence {
  return {
    says:
      options.pings === "answered"
        ? "no DATA after message 1, while PINGs are answered"
        : "no DATA after message 1, the server process running",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const frames = onStream(call.conn.frames, call.id).filter((f) => f.dir === "s2c");
      const later = frames.find((f) => f.envelopes?.some((e) => e.kind === "message" && (e.index ?? 0) > 1));
      if (later) return `message ${later.envelopes?.find((e) => e.kind === "message")?.index} reached the wire`;
      if (o.server?.running === false) return "the server process was not running";
      const pings = call.conn.frames.filter((f) => f.dir === "c2s" && f.type === "PING" && !f.flags.includes("ACK"));
      const acks = new Set(
        call.conn.frames
          .filter((f) => f.dir === "s2c" && f.type === "PING" && f.flags.includes("ACK"))
          .map((f) => f.opaque),
      );
      // A PING after the server's GOAWAY may go unanswered by a live server: grpc-go's ping policy
      // sends GOAWAY(ENHANCE_YOUR_CALM) and then answers nothing more (seen with connect-go's PINGs).
      const goaway = call.conn.frames.find((f) => f.dir === "s2c" && f.type === "GOAWAY");
      const unanswered = pings.filter(
        (p) => !acks.has(p.opaque) && p.at < o.endAt - 50 && (goaway === undefined || p.at < goaway.at),
      );
      if (unanswered.length > 0) return `${unanswered.length} PING(s) went unanswered: the process was not live`;
      if (options.pings === "answered" && pings.length === 0) return "the client sent no PING";
      return undefined;
    },
  };
}

/**
 * A PING of the client's went unanswered, and no PING ACK came back after the
 * fault. The unanswered PING may have left just before the fault: the server
 * stopped before it could answer.
 */
export function pingsUnanswered(): Evidence {
  return {
    says: "PINGs go unanswered",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const from = o.faultAt ?? 0;
      if (unansweredPings(call.conn.frames).length === 0) {
        // The server answered before it was stopped (the ACK was in the kernel's queues then) and the
        // relay, on a busy lab process, passed the ACK on after the client gave up: a run of the
        // lab's own timing, not of the fault.
        const lateAck = call.conn.frames.some(
          (f) => f.dir === "s2c" && f.type === "PING" && f.flags.includes("ACK") && f.at > from && !f.dropped,
        );
        if (lateAck && sentAfterStop(o, call.conn, "s2c") === 0) {
          return `the server answered the PING before it was stopped, and the relay passed the ACK on late: ${tooBusy}`;
        }
        // No PING after the fault, or all answered: a client that still gave up on keepalive ran its
        // timer before it read an ACK that had come (a starved client process: seen in CI with
        // --quick's 100 ms timeout). Retried; on a quiet machine it would recur and stay a lab error.
        return `every PING the client sent was answered: ${tooBusy}`;
      }
      // An ACK the server wrote just before the signal landed may reach the relay a moment after:
      // where the kernel's queues were read when it was seen stopped, they say whether it did.
      if (sentAfterStop(o, call.conn, "s2c") === 0) return undefined;
      const late = call.conn.frames.filter(
        (f) => f.dir === "s2c" && f.type === "PING" && f.flags.includes("ACK") && f.at > from + 20 && !f.dropped,
      );
      return late.length === 0 ? undefined : `${late.length} PING ACK(s) reached the client after the fault`;
    },
  };
}

/**
 * Bytes `conn` carried from `dir`'s sender after its process was seen
 * stopped, beyond what the kernel held for it then: 0 when the sender was
 * silent; undefined when the moment was not recorded (no /proc).
 */
function sentAfterStop(o: Observation, conn: TapConnection, dir: "c2s" | "s2c"): number | undefined {
  const held = o.heldAtStop?.get(conn);
  if (!held) return undefined;
  return Math.max(0, conn.forwarded[dir] + conn.dropped[dir] - held.read - held.queued);
}

/**
 * A process seen stopped sent nothing more on `conn`. Bytes it wrote just
 * before may reach the relay later, as late as the lab's own event loop
 * runs; the kernel's queues at the moment it was seen stopped say how many
 * (issue 22). Without that record, 20 ms of grace for the relay.
 */
function silentSince(
  o: Observation,
  conn: TapConnection,
  dir: "c2s" | "s2c",
  who: "server" | "client",
): string | undefined {
  // A stopped process closes nothing: a FIN or an RST from its side means it was killed or resumed
  // while the run held it stopped (a --full run on 2026-12-05: every connection of one stopped server
  // reset 2990 ms into its SIGSTOP, read as aborted and unavailable). Its run proves nothing.
  const closed = conn.tcp.find(
    (t) => t.leg === who && t.by === who && (t.event === "fin" || t.event === "reset") && t.at > (o.faultAt ?? 0) + 20,
  );
  if (closed && closed.at <= o.endAt) {
    return `the stopped ${who}'s side ${closed.event === "reset" ? "reset" : "closed"} its connection ${Math.round(closed.at - (o.faultAt ?? 0))} ms after the fault: it was killed or resumed under the run`;
  }
  const late = conn.frames.filter((f) => f.dir === dir && f.at > (o.faultAt ?? 0) + 20 && !f.dropped);
  const beyond = sentAfterStop(o, conn, dir);
  if (beyond === undefined) return late.length === 0 ? undefined : `the stopped ${who} sent ${seen(late)}`;
  return beyond === 0
    ? undefined
    : `the stopped ${who} sent ${beyond} byte(s) more than the kernel held when it was seen stopped (saw ${seen(late)})`;
}

/** The server process was seen stopped, and sent nothing after the fault. */
export function processStopped(): Evidence {
  return {
    says: "server process stopped (state T), silent",
    check(o) {
      if (o.server?.stopped !== true)
        return `the server process was never seen stopped: a broken injector, or ${tooBusy}`;
      const call = callStream(o);
      if (!call) return noCall;
      return silentSince(o, call.conn, "s2c", "server");
    },
  };
}

/** The server process died of SIGKILL and its end of the connection closed. */
export function processKilled(): Evidence {
  return {
    says: "server killed (SIGKILL), its connection closed",
    check(o) {
      if (o.server?.exit?.signal !== "SIGKILL")
        return `the server did not die of SIGKILL (${o.server?.exit ? JSON.stringify(o.server.exit) : "still running"})`;
      const call = callStream(o);
      if (!call) return noCall;
      const closed = call.conn.tcp.some(
        (e) => e.leg === "server" && e.by === "server" && (e.event === "fin" || e.event === "reset"),
      );
      return closed ? undefined : "the server's end of the connection never closed";
    },
  };
}

/** After the restart, a second connection reached the new server and carried a message. */
export function reconnected(): Evidence {
  return {
    says: "server killed, a new connection to its successor carries messages",
    check(o) {
      if (o.server?.exit?.signal !== "SIGKILL") return "the first server did not die of SIGKILL";
      const second = o.connections.find(
        (c) =>
          c.id > 1 &&
          c.tcp.some((e) => e.leg === "server" && e.event === "open") &&
          c.frames.some((f) => f.dir === "s2c" && f.envelopes?.some((e) => e.kind === "message")),
      );
      return second ? undefined : `no later connection carried a message (${o.connections.length} connection(s))`;
    },
  };
}

/**
 * The server rotated a connection (issue 17): a GOAWAY(NO_ERROR) from the
 * server on a connection that carried calls, and a later connection that
 * carried messages.
 */
export function rotated(): Evidence {
  return {
    says: "GOAWAY(NO_ERROR) from the server, then a new connection carries messages",
    check(o) {
      const goaway = o.connections.find((c) =>
        c.frames.some((f) => f.dir === "s2c" && f.type === "GOAWAY" && f.errorCode === 0),
      );
      if (!goaway) return `no GOAWAY(NO_ERROR) from the server on any of ${o.connections.length} connection(s)`;
      const later = o.connections.find(
        (c) =>
          c.id > goaway.id && c.frames.some((f) => f.dir === "s2c" && f.envelopes?.some((e) => e.kind === "message")),
      );
      return later ? undefined : "no connection after the GOAWAY carried a message";
    },
  };
}

/** Every connection the fault found open was reset, both legs (a relay in reset mode). */
export function connectionsReset(): Evidence {
  return {
    says: "every connection reset, both legs",
    check(o) {
      const from = o.faultAt ?? 0;
      const open = o.connections.filter(
        (c) => (c.tcp[0]?.at ?? from) < from && !c.tcp.some((e) => e.event !== "open" && e.at < from),
      );
      if (open.length === 0) return "no connection was open at the fault";
      const spared = open.filter(
        (c) => !["client", "server"].every((leg) => c.tcp.some((e) => e.leg === leg && e.event === "reset")),
      );
      return spared.length === 0 ? undefined : `${spared.length} connection(s) not reset on both legs`;
    },
  };
}

/** The stream ended without a status: trailers without grpc-status, a trailer frame without it, or no end-stream message. */
export function endedWithoutStatus(): Evidence {
  return {
    says: "the stream ends without a status",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const frames = onStream(call.conn.frames, call.id).filter((f) => f.dir === "s2c");
      const end = frames.find((f) => f.flags.includes("END_STREAM"));
      if (!end) return `the stream never ended (saw ${seen(frames)})`;
      const withStatus = frames.filter((f) => f.status);
      if (withStatus.some((f) => f.status?.code !== null))
        return `a status reached the wire: ${withStatus.map((f) => f.status?.code).join(", ")}`;
      return undefined;
    },
  };
}

/** TCP stayed open and not a byte came from the peer. */
export function mutePeer(): Evidence {
  return {
    says: "TCP open, no byte from the peer",
    check(o) {
      const conn = o.connections[0];
      if (!conn) return "no connection went through the tap";
      if (!conn.tcp.some((e) => e.leg === "server" && e.event === "open")) {
        // Refused: the peer was not there (a broken injector). Neither refused nor open by the
        // client's end: the relay had not yet dialled the peer (seen in a --versions run of 4700
        // runs: the relay accepted the client 340 ms late, and the client's PING timed out first).
        return conn.tcp.some((e) => e.leg === "server" && e.event === "refused")
          ? "the peer refused the connection"
          : `the relay had not reached the peer when the client gave up: ${tooBusy}`;
      }
      // With what the kernel holds for the relay still: a lab too busy to read them yet is no proof
      // of silence (seen in CI: a sabotaged peer's 9 bytes unread at the check).
      const bytes = conn.forwarded.s2c + conn.dropped.s2c + (o.heldNow?.().get(conn)?.queued ?? 0);
      if (bytes > 0) return `the peer sent ${bytes} byte(s)`;
      const closed = conn.tcp.find((e) => e.by === "server" && e.event !== "open" && e.at <= o.endAt);
      return closed ? `the peer closed the connection (${closed.event})` : undefined;
    },
  };
}

/** Nothing listened: a connection to the port was refused just before the call. */
export function nothingListens(): Evidence {
  return {
    says: "connection refused",
    check: (o) => (o.refused ? undefined : "a connection to the port was not refused"),
  };
}

/** The server's view: the client process died of SIGKILL, and its end of the connection closed. */
export function clientKilled(): Evidence {
  return {
    says: "client killed (SIGKILL), its connection closed",
    check(o) {
      if (o.client?.exit?.signal !== "SIGKILL")
        return `the client did not die of SIGKILL (${o.client?.exit ? JSON.stringify(o.client.exit) : "still running"})`;
      const conn = o.connections[0];
      const closed = conn?.tcp.some((e) => e.leg === "client" && e.by === "client" && e.event !== "open");
      return closed ? undefined : "the client's end of the connection never closed";
    },
  };
}

/** The server's view: after the fault, the client reset the call's stream, or closed its connection. */
export function clientLeft(): Evidence {
  return {
    says: "the client resets its stream or closes its connection",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const from = o.faultAt ?? 0;
      const rst = onStream(call.conn.frames, call.id).some(
        (f) => f.dir === "c2s" && f.type === "RST_STREAM" && f.at >= from,
      );
      const closed = call.conn.tcp.some(
        (e) => e.leg === "client" && e.by === "client" && e.event !== "open" && e.at >= from,
      );
      return rst || closed ? undefined : "the client neither reset its stream nor closed its connection";
    },
  };
}

/** The server's view: the client reset the call's stream with CANCEL after the fault. */
export function clientCancelled(): Evidence {
  return {
    says: "RST_STREAM(CANCEL) from the client",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const rst = onStream(call.conn.frames, call.id).find(
        (f) => f.dir === "c2s" && f.type === "RST_STREAM" && f.at >= (o.faultAt ?? 0),
      );
      if (!rst) return `no RST_STREAM from the client (saw ${seen(onStream(call.conn.frames, call.id))})`;
      return rst.error === "CANCEL" ? undefined : `the client reset with ${rst.error}`;
    },
  };
}

/** The server's view: the client process was seen stopped, and sent nothing after the fault. */
export function clientStopped(): Evidence {
  return {
    says: "client process stopped (state T), silent",
    check(o) {
      if (o.client?.stopped !== true)
        return `the client process was never seen stopped: a broken injector, or ${tooBusy}`;
      const call = callStream(o);
      if (!call) return noCall;
      return silentSince(o, call.conn, "c2s", "client");
    },
  };
}

/** The server's view: the request carried the client's deadline. */
export function deadlineSent(): Evidence {
  return {
    says: "the request carries its deadline (grpc-timeout)",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const headers = call.conn.frames.find((f) => f.dir === "c2s" && f.type === "HEADERS" && f.stream === call.id);
      return headers?.headers?.some(([k]) => k === "grpc-timeout") ? undefined : "no grpc-timeout in the request";
    },
  };
}

/** The server's view: the client's window stayed shut (SETTINGS_INITIAL_WINDOW_SIZE 0, no WINDOW_UPDATE for the stream). */
export function windowShut(): Evidence {
  return {
    says: "the client's window is 0 and never opens",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const settings = call.conn.frames.find(
        (f) => f.dir === "c2s" && f.type === "SETTINGS" && f.settings?.INITIAL_WINDOW_SIZE !== undefined,
      );
      if (settings?.settings?.INITIAL_WINDOW_SIZE !== 0) return "the client did not set SETTINGS_INITIAL_WINDOW_SIZE 0";
      const update = onStream(call.conn.frames, call.id).find((f) => f.dir === "c2s" && f.type === "WINDOW_UPDATE");
      if (update) return `the client opened the stream's window by ${update.increment}`;
      const data = onStream(call.conn.frames, call.id).find(
        (f) => f.dir === "s2c" && f.type === "DATA" && f.length > 0,
      );
      return data ? "DATA reached the client" : undefined;
    },
  };
}

/**
 * The same evidence, on one hop of a proxied call (issue 14): on the
 * proxy-server hop the proxy is the client, and the server's frames are the
 * ones the proxy received.
 */
export function onHop(hop: "client-proxy" | "proxy-server", evidence: Evidence): Evidence {
  return {
    says: `${hop}: ${evidence.says}`,
    lingerMs: evidence.lingerMs,
    check(o) {
      if (hop === "client-proxy") return evidence.check(o);
      if (!o.upstream) return "no proxy-server hop was tapped";
      return evidence.check({ ...o, connections: o.upstream });
    },
  };
}

/**
 * The proxy answered the client's keepalive itself: after the fault the
 * client sent PINGs and each got its ACK on the client-proxy hop, while no
 * PING crossed to the server (a proxy does not forward them).
 */
export function proxyAnswersPings(): Evidence {
  return {
    says: "client-proxy: the proxy ACKs the client's PINGs after the fault; proxy-server: no PING",
    check(o) {
      const call = callStream(o);
      if (!call) return noCall;
      const from = o.faultAt ?? 0;
      const pings = call.conn.frames.filter(
        (f) => f.dir === "c2s" && f.type === "PING" && !f.flags.includes("ACK") && f.at >= from,
      );
      if (pings.length === 0) return "the client sent no PING after the fault";
      const acked = pings.filter((p) =>
        call.conn.frames.some(
          (f) => f.dir === "s2c" && f.type === "PING" && f.flags.includes("ACK") && f.opaque === p.opaque && !f.dropped,
        ),
      );
      if (acked.length === 0) {
        // The proxy runs (the fault is the server's): a client that closed the connection before it
        // answered gave it less than the keepalive timeout on a machine that had no CPU for it.
        // (The close may not have reached the relay yet when this is checked: a running proxy that
        // ACKed nothing is starved either way; a proxy that never ACKs stays a lab error after the
        // retries.)
        return `none of the client's ${pings.length} PING(s) after the fault got an ACK from the running proxy: ${tooBusy}`;
      }
      const forwarded = (o.upstream ?? []).flatMap((c) =>
        c.frames.filter((f) => f.dir === "c2s" && f.type === "PING" && pings.some((p) => p.opaque === f.opaque)),
      );
      return forwarded.length === 0 ? undefined : `${forwarded.length} of the client's PINGs reached the server`;
    },
  };
}

/** Every check of a run: the reasons for the missing ones (empty when all are there). */
export function missingEvidence(checks: readonly Evidence[], o: Observation): string[] {
  return checks.flatMap((e) => {
    const why = e.check(o);
    return why === undefined ? [] : [`${e.says}: ${why}`];
  });
}
