/** One run of one cell, as results.json keeps it. */
export interface RunRecord {
  /** The client's code name ("ok", "unavailable", ...), or "hang" when the watchdog fired. */
  code: string;
  /** The client's error message ("" on ok and on hang). */
  message: string;
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
  /** Ms from the same moment to the client's process exit (on hang: to its forced end). */
  exitMs: number | null;
  /**
   * The call as the client timed it (its own clock; with --calls, the last
   * call): ms from its start to its end, and to each message. Null on hang.
   */
  call: { elapsedMs: number; arrivalsMs: number[] } | null;
  /** What happened when, in ms since the client was started: for the timelines. */
  timeline: Timeline;
}

export interface Timeline {
  /** Arrival of each message. */
  messagesMs: number[];
  /** Each fault step: what was done (a signal, "blackhole", "stall", ...) to whom ("server", "client", "network"). */
  faults: { target: string; what: string; atMs: number }[];
  /** The client's result line, or the watchdog firing on a hang. */
  endMs: number;
}
