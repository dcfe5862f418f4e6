/**
 * The wall clock's reading, in ms since the epoch, at performance.now() = 0:
 * how the lab's processes put their events on one time axis. It is measured
 * at the moment Date.now() ticks over, to a few µs. performance.timeOrigin is
 * not used: it sat 2.0-2.7 ms off the wall clock in every Node process here,
 * by a different amount in each, so a client's end could read as a few ms
 * before the fault that caused it (seen in the default run: the network's
 * reset, then the client's ECONNRESET "2 ms earlier").
 */
function measureOrigin(): number {
  // Each tick of Date.now() falls between two reads of both clocks; a read preempted on a busy
  // machine widens that window (by milliseconds: a client's end then read as before the fault that
  // caused it). Of five ticks, the narrowest window wins. At most ~5 ms of spinning.
  let best = { width: Number.POSITIVE_INFINITY, origin: 0 };
  for (let i = 0; i < 5; i++) {
    let last = Date.now();
    let lastAt = performance.now();
    for (;;) {
      const date = Date.now();
      const at = performance.now();
      if (date !== last) {
        if (at - lastAt < best.width) best = { width: at - lastAt, origin: date - (lastAt + at) / 2 };
        break;
      }
      last = date;
      lastAt = at;
    }
  }
  return best.origin;
}

let origin = measureOrigin();
let measuredAt = performance.now();

/**
 * The origin, measured again when a quick reading disagrees with it by more than Date.now()'s
 * whole ms: each Node process measured it once, as it started, and in a CI run a long-lived fault
 * peer and the lab put one moment 40-45 ms apart (every fault peer's mark came after the end of
 * the call it caused), as a start-up measurement on a starved machine or a step of the wall clock
 * would. At most once per 100 ms (a measurement spins ~5 ms). The peers in other languages read
 * the wall clock itself.
 */
function currentOrigin(): number {
  // Date.now() counts whole ms: while the origin holds, this reads within ~1 ms below it.
  const at = performance.now();
  const quick = Date.now() - at;
  if ((quick > origin + 1 || quick < origin - 2) && at - measuredAt > 100) {
    origin = measureOrigin();
    measuredAt = performance.now();
  }
  return origin;
}

/** A moment of performance.now() as ms since the epoch, to 0.1 ms: comparable across processes on one machine. */
export function epochMs(now: number): number {
  return Math.round((currentOrigin() + now) * 10) / 10;
}

/** Ms since the epoch (another process's epochMs, or Python's time.time() * 1000) as this process's performance.now(). */
export function fromEpoch(epoch: number): number {
  return epoch - currentOrigin();
}
