/**
 * The wall clock's reading, in ms since the epoch, at performance.now() = 0:
 * how the lab's processes put their events on one time axis. It is measured
 * at the moment Date.now() ticks over, to a few µs. performance.timeOrigin is
 * not used: it sat 2.0-2.7 ms off the wall clock in every Node process here,
 * by a different amount in each, so a client's end could read as a few ms
 * before the fault that caused it (seen in the default run: the network's
 * reset, then the client's ECONNRESET "2 ms earlier").
 */
export const wallClockOrigin: number = (() => {
  const start = Date.now();
  let now = start;
  // At most 1 ms of spinning, once per process.
  while (now === start) now = Date.now();
  return now - performance.now();
})();

/** A moment of performance.now() as ms since the epoch, to 0.1 ms: comparable across processes on one machine. */
export function epochMs(now: number): number {
  return Math.round((wallClockOrigin + now) * 10) / 10;
}

/** Ms since the epoch (another process's epochMs, or Python's time.time() * 1000) as this process's performance.now(). */
export function fromEpoch(epoch: number): number {
  return epoch - wallClockOrigin;
}
