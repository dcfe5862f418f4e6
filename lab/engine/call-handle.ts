import type { CallsRecord } from "../../lib/run-calls.ts";

/** A message as the client got it; `at` on the lab's clock (performance.now()). */
export interface ArrivedMessage {
  /** Which call of the run (--calls), from 1. */
  call: number;
  index: number;
  text: string;
  at: number;
}

/**
 * One run's client call, whoever makes it: a call in a long-lived client
 * agent, or a client process of its own (suspend+ctrl-c, and --isolate).
 * Times are the lab's performance.now(): an agent's epoch times are turned
 * into it, so every mark of a run sits on one clock.
 */
export interface CallHandle {
  /** Says who makes the call, for error messages. */
  readonly label: string;
  /** When each call of the run started. */
  readonly starts: readonly number[];
  readonly messages: readonly ArrivedMessage[];
  /** Resolves at message 1 (its time); rejects when the call ends first, fails, or after timeoutMs. */
  firstMessage(timeoutMs: number): Promise<number>;
  /** Resolves when the (first) call started; rejects when the client failed first or after timeoutMs. */
  started(timeoutMs: number): Promise<number>;
  /** The client's record; rejects when none can come (its agent died, its process printed no result). */
  readonly result: Promise<CallsRecord>;
  /** Whether the result (or a failure) is in. */
  readonly settled: boolean;
  /** Gives up on the call: ends it and frees its connection. Resolves once that is done. */
  abandon(): Promise<void>;
  /** A client process of its own: its pid, signals to it, and when it exited. */
  readonly process?: {
    pid: number;
    signal(signal: NodeJS.Signals): void;
    exitedAt(): number | undefined;
    /** How it exited, once it has. */
    exit(): { code: number | null; signal: string | null } | undefined;
  };
}

/** A moment on another process's epoch clock, on ours. */
export { fromEpoch } from "../../lib/wall-clock.ts";
