import type { CallReporter } from "./call-report.ts";
import type { CallSettings } from "./client-flags.ts";

/** What one call ended with: a status code number and its message ("" on ok). */
export interface CallEnd {
  code: number;
  message: string;
  /** The call ended ok, but what it answered is a failure (Check: not SERVING): exit 1. */
  unhealthy?: boolean;
  /** When it ended, as this process's performance.now(), where the client's own clock said so (a browser page's). Default: when call() resolved. */
  at?: number;
}

/**
 * One client stack's way to make calls, on a transport or channel of its
 * own: the CLI makes its --calls on one, and the lab's client agent makes
 * one per run, so that no run shares a connection with another (issue 11).
 */
export interface Caller {
  /**
   * Makes one call (Chat, or a health Check or Watch): reports each message
   * to `reporter`, ends the call when `signal` aborts (Ctrl-C, or the lab
   * giving up on a hang), and resolves with how it ended. `overrides`: what
   * this call sets for itself (its deadline, wait-for-ready, ...) over the
   * settings the caller was made with.
   */
  call(reporter: CallReporter, signal: AbortSignal, overrides?: Partial<CallSettings>): Promise<CallEnd>;
  /** Closes the transport or channel, and with it its connection. */
  close(): void;
  /**
   * The call starts some time after call() (a browser loads a page first):
   * the caller tells the reporter when (reporter.started). Default: false,
   * the call starts with call().
   */
  startsLate?: boolean;
}
