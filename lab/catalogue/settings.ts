/** The timings every case is built from; --quick scales them down ~5x. */
export interface LabSettings {
  /** Responses per stream. */
  count: number;
  /** Pause between two responses, ms; the fault peer also waits this long between message 1 and its fault. */
  intervalMs: number;
  /** Client keepalive for the +keepalive cases: PING interval and PING timeout, ms. */
  keepalive: { intervalMs: number; timeoutMs: number };
  /** Client deadline for the +deadline cases, ms from the start of the call. */
  deadlineMs: number;
  /** Client idle timeout for the +idle-timeout cases, ms without a message. */
  idleTimeoutMs: number;
  /** Server write-stall timeout for the +write-stall-timeout cases (the server's view), ms. */
  writeStallMs: number;
  /** A client still waiting this long after the fault has hung. */
  watchdogMs: number;
  /** suspend+ctrl-c: how long after the suspend the client gets SIGINT, ms. */
  ctrlCDelayMs: number;
  /**
   * restart: pause between the client's first call ending and its second
   * call, ms; the new server must be listening by then (a run where it was
   * not is reported as a lab error, not as the client's failure).
   */
  restartGapMs: number;
  /** The channel scenarios' timings (issue 17). */
  channel: ChannelTimings;
}

export interface ChannelTimings {
  /** Messages per stream and the pause between them, on the scenarios' servers: a short call. */
  count: number;
  intervalMs: number;
  /** A channel idles this long after its first call, before the fault. */
  idleBeforeMs: number;
  /** And this long after it, before the next call: longer than any keepalive takes to find a dead connection. */
  idleAfterMs: number;
  /** Calls through an outage: one every everyMs. */
  everyMs: number;
  /** How long a killed server stays down before it is back (restart). */
  outageMs: number;
  /** How long calls run around a fault of the backends scenarios, or around rotations. */
  spanMs: number;
}

/**
 * The default run's timings: a quarter of the original experiment's 2 s
 * pause; every remedy's bound still stands clear of the pause of a healthy
 * stream.
 */
export const defaultSettings: LabSettings = {
  count: 3,
  intervalMs: 500,
  keepalive: { intervalMs: 250, timeoutMs: 250 },
  deadlineMs: 800,
  idleTimeoutMs: 800,
  writeStallMs: 800,
  watchdogMs: 1600,
  ctrlCDelayMs: 250,
  restartGapMs: 1000,
  // idleAfterMs: gRPC core keeps its PINGs ~1 s apart (stacks.ts): its keepalive needs 1.25 s.
  channel: {
    count: 2,
    intervalMs: 50,
    idleBeforeMs: 300,
    idleAfterMs: 1600,
    everyMs: 100,
    outageMs: 1000,
    spanMs: 1500,
  },
};

/** About 5x faster: for a first look and for the tests. */
export const quickSettings: LabSettings = {
  count: 3,
  intervalMs: 100,
  keepalive: { intervalMs: 100, timeoutMs: 100 },
  deadlineMs: 300,
  idleTimeoutMs: 250,
  writeStallMs: 250,
  watchdogMs: 600,
  ctrlCDelayMs: 100,
  restartGapMs: 800,
  // The libraries' own clocks (a 1 s reconnect backoff, gRPC core's PINGs 1 s apart) do not shrink: calls go
  // out half as often instead, enough to see a recovery (5 ok calls in a row).
  channel: {
    count: 2,
    intervalMs: 20,
    idleBeforeMs: 100,
    idleAfterMs: 1400,
    everyMs: 200,
    outageMs: 500,
    spanMs: 1200,
  },
};

/**
 * The watchdog of a run whose keepalive runs at a library's floor (issue 27): half as long again
 * as that keepalive takes. Not twice: at twice, a 10 s floor's second PING falls at the watchdog's
 * end, and a late ACK on a busy machine there decided the cell.
 */
export const floorWatchdogMs = (boundMs: number): number => Math.ceil(1.5 * boundMs);
