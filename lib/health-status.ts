import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";

export { ServingStatus };

/** "SERVING", "NOT_SERVING", ...: the name a status has in health.proto. */
export function servingStatusName(status: ServingStatus): string {
  return ServingStatus[status] ?? `status ${status}`;
}

export interface HealthStatusOptions {
  /** Services the server knows, besides "" (the server as a whole). Each starts SERVING. */
  services: readonly string[];
}

/**
 * What grpc.health.v1.Health reports, shared by both servers' handlers
 * (see https://github.com/grpc/grpc/blob/master/doc/health-checking.md).
 */
export interface HealthStatus {
  /** The status of `service` ("" for the whole server), or undefined for one the server does not know. */
  check(service: string): ServingStatus | undefined;
  /**
   * The status now, then each change, until `signal` aborts (the iteration
   * throws its reason) or endWatches() is called (it throws that reason).
   * A service the server does not know reads SERVICE_UNKNOWN, as the
   * protocol asks, and the watch stays open. A consumer that is slow to read
   * sees the latest status, not every one in between (the protocol allows it).
   */
  watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus>;
  /** Sets every known service, and the server, to `status`. */
  setAll(status: ServingStatus): void;
  /** Ends every watch, running or to come, with `reason`: the server is going away. */
  endWatches(reason: unknown): void;
}

export function createHealthStatus(options: HealthStatusOptions): HealthStatus {
  const statuses = new Map<string, ServingStatus>(["", ...options.services].map((s) => [s, ServingStatus.SERVING]));
  let ended: { reason: unknown } | undefined;
  // Every waiter holds the current `wake` promise; a change resolves it and starts the next one.
  let wakeAll = () => {};
  let wake = new Promise<void>((resolve) => (wakeAll = resolve));
  const notify = () => {
    const resolve = wakeAll;
    wake = new Promise<void>((r) => (wakeAll = r));
    resolve();
  };
  // Resolves on the next change or end; rejects when `signal` aborts.
  const changed = (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      wake.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });

  return {
    check: (service) => statuses.get(service),
    async *watch(service, signal) {
      let last: ServingStatus | undefined;
      for (;;) {
        const now = statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (now !== last) {
          last = now;
          yield now;
          continue;
        }
        if (ended) throw ended.reason;
        signal.throwIfAborted();
        await changed(signal);
      }
    },
    setAll(status) {
      for (const service of statuses.keys()) statuses.set(service, status);
      notify();
    },
    endWatches(reason) {
      ended = { reason };
      notify();
    },
  };
}
