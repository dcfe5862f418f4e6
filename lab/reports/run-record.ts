import type { Envelope, WireStatus } from "../faults/rpc-wire.ts";

/** One run of one cell, as results.json keeps it. */
export interface RunRecord {
  /**
   * The client's code name ("ok", "unavailable", ...), "hang" when the
   * watchdog fired, or "lab-error" when the run proves nothing: the lab
   * failed, or the fault's evidence is missing (see `evidence`).
   */
  code: string;
  /** The client's error message ("" on ok and on hang); for a lab error, why. */
  message: string;
  /** A lab error for missing evidence: what the client said all the same. */
  clientCode?: string;
  /** Messages the client received. */
  received: number;
  /** Their texts, in order (health cases: the statuses, "SERVING", "NOT_SERVING"). */
  messages: string[];
  /**
   * Ms from the fault (its last step; the start of the call when there is
   * none) to the client's result, by the client's clock; after a restart,
   * the second call's time to its first message; null on hang.
   */
  detectMs: number | null;
  /** The watchdog fired with the client still waiting. */
  hung: boolean;
  /** A client process of its own: ms from the same moment to its exit (on hang: to its forced end). */
  exitMs: number | null;
  /**
   * The call as the client timed it (its own clock; with --calls, the last
   * call): ms from its start to its end, and to each message. Null on hang.
   */
  call: { elapsedMs: number; arrivalsMs: number[] } | null;
  /** Who made the call: a long-lived client agent, a client process of its own, or the lab's slow reader. */
  caller: "agent" | "process" | "slow-reader";
  /**
   * The server's view: the server's line that ended the handler (null when
   * none came before the watchdog), the run's handlers still running when
   * it ended, and the heap the server held then over its heap when the run
   * began (both after a full GC).
   */
  server?: { line: string | null; handlersRunning: number; heapHeldBytes: number | null };
  /** What happened when, in ms from the same origin as detectMs (the fault): for the timelines. */
  timeline: Timeline;
  /** Every connection the run made through the wire tap, frames and TCP events; null without a tap. */
  wire: WireRecord[] | null;
  /** The fault's evidence: what it must leave, and what of it was missing. */
  evidence: { checked: boolean; says: string[]; missing: string[] };
  /** A channel scenario's run (issue 17): every call on the channel, and what they add up to. */
  channel?: ChannelRecord;
  /**
   * The share of the run's time during which some task on the machine waited for a CPU (Linux PSI),
   * 0-1; absent without PSI. Timings taken near 1 are the machine's, not the stacks'.
   */
  cpuWait?: number;
  /** Tries it took: a run the lab botched for timing (a fault that came late on a busy machine) is run again. */
  attempts?: number;
  /** Why each earlier try was run again (its lab error), oldest first. */
  retried?: string[];
  /** In the engine only, never in results.json: this lab error is a timing mishap worth another try. */
  retryable?: true;
}

/** One call of a channel scenario; times in ms from the run's origin (its first fault). */
export interface ChannelCallRecord {
  /** The step that made it ("first", "after", "outage", ...). */
  label: string;
  startMs: number;
  /** When it ended; on a hang, when the lab gave up on it. */
  endMs: number;
  /** Its code, or "hang". */
  code: string;
  message: string;
  received: number;
  /** Its first message, when one came. */
  firstMessageMs: number | null;
}

export interface ChannelRecord {
  calls: ChannelCallRecord[];
  /** Over the calls the outcome watches: how many ended ok, failed (by code) and hung, and the recovery. */
  summary: { ok: number; failed: Record<string, number>; hung: number; recoveryMs: number | null };
}

export interface Timeline {
  /** When the (first) call started; negative when the fault came after it. */
  callStartMs: number | null;
  /** Arrival of each message. */
  messagesMs: number[];
  /** Each fault step: what was done (a signal, "blackhole", "stall", ...) to whom ("server", "client", "network"). */
  faults: { target: string; what: string; atMs: number }[];
  /** The client's result, or the watchdog firing on a hang. */
  endMs: number;
}

/** One TCP connection through the tap: both legs. */
export interface WireRecord {
  /** A channel scenario with several backends (issue 17): which one, from 0 (127.0.0.1). */
  backend?: number;
  /**
   * Behind a proxy, the hop: client-proxy (the client is "client", the proxy
   * "server") or proxy-server (the proxy is "client"). Absent on a direct call.
   */
  hop?: "client-proxy" | "proxy-server";
  /** 1 for the hop's first connection. */
  id: number;
  /** The client's port, and the port the server saw as its peer's. */
  clientPort: number;
  serverPeerPort: number | null;
  frames: WireFrame[];
  tcp: { t: number; leg: "client" | "server"; event: string; by: string }[];
  /** Bytes passed on and bytes held back (blackhole), per direction. */
  bytes: { forwarded: { c2s: number; s2c: number }; dropped: { c2s: number; s2c: number } };
  /** Where a direction stopped decoding as HTTP/2 (a peer that speaks something else). */
  undecodable?: { c2s?: string; s2c?: string };
  /** Over TLS (issue 19): the version and cipher suite, and whether the tap had the connection's secrets. */
  tls?: { version?: string; suite?: string; secrets: boolean };
}

/** A frame in results.json: when (ms from the fault), which way, what. */
export interface WireFrame {
  t: number;
  dir: "c2s" | "s2c";
  type: string;
  stream: number;
  flags?: string[];
  /** RST_STREAM and GOAWAY. */
  error?: string;
  lastStreamId?: number;
  debug?: string;
  /** HEADERS: the fields, except the ones every request repeats. */
  headers?: [string, string][];
  settings?: Record<string, number>;
  increment?: number;
  opaque?: string;
  envelopes?: Envelope[];
  status?: WireStatus;
  /** Held back by a blackhole. */
  dropped?: true;
}

/**
 * A run that has no call to show: a lab error (why it proves nothing), or a cell its client
 * cannot take part in. `says` is the evidence the case states; `messages` what arrived, if any.
 */
export function runWithoutCall(
  code: string,
  message: string,
  caller: RunRecord["caller"],
  says: string[] = [],
  messages: string[] = [],
): RunRecord {
  return {
    code,
    message,
    received: messages.length,
    messages,
    detectMs: null,
    hung: false,
    exitMs: null,
    call: null,
    caller,
    timeline: { callStartMs: null, messagesMs: [], faults: [], endMs: 0 },
    wire: null,
    evidence: { checked: false, says, missing: [] },
  };
}
