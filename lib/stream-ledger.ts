import type * as http2 from "node:http2";
import type { ServerLog } from "./server-log.ts";

/** RFC 9113 section 7 names, for the log. */
const h2Codes = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

interface Entry {
  stream: http2.Http2Stream | undefined;
  /** The status the handler handed to the library, once it did. */
  status?: { code: string; message?: string };
  closed: boolean;
  /** The handler has finished. */
  released: boolean;
}

export interface StreamLedger {
  /** A Chat stream's handler began; its HTTP/2 stream is watched until it closes. */
  open(id: number, stream: http2.Http2Stream | undefined): void;
  /** The status the handler ended with, as it handed it to the library (not yet to the client). */
  settle(id: number, code: string, message?: string): void;
  /** The handler has finished (with a status or without: its client gone). */
  release(id: number): void;
  /** HTTP/2 streams of Chat calls still open. */
  readonly size: number;
  /** Resolves once every watched stream has closed, or after `ms`: true when they all did. */
  drained(ms: number): Promise<boolean>;
  /** From now on, a stream that closes without its status is one the server dropped (it destroys its connections next). */
  dropping(): void;
}

/**
 * What each Chat stream really ended with, for the servers' log (issue 10:
 * never log a status that no peer receives). A handler hands its status to
 * the library; the status reaches the client only when the HTTP/2 stream
 * then closes cleanly, its last frame (trailers, or an end-stream message
 * with END_STREAM) written out. So `ended: CODE` is logged at that close,
 * and a stream that closes otherwise (reset, connection destroyed) gets a
 * line saying its status was not delivered, and why.
 */
export function createStreamLedger(log: ServerLog): StreamLedger {
  const entries = new Map<number, Entry>();
  let dropping = false;
  const waiters = new Set<() => void>();
  const openCount = () => [...entries.values()].filter((e) => e.stream && !e.closed).length;

  const report = (id: number, entry: Entry) => {
    const rst = entry.stream?.rstCode ?? 0;
    const status = entry.status;
    if (!status) return;
    if (rst === 0) log.ended(id, status.code, status.message);
    else
      log.undelivered(
        id,
        status.code,
        status.message,
        dropping ? "the server closed the connection first" : `the stream was reset (${h2Codes[rst] ?? rst})`,
      );
  };

  const onClose = (id: number, entry: Entry) => {
    entry.closed = true;
    report(id, entry);
    if (entry.released) entries.delete(id);
    if (openCount() === 0) for (const wake of waiters) wake();
  };

  return {
    open(id, stream) {
      const entry: Entry = { stream, closed: false, released: false };
      entries.set(id, entry);
      if (!stream || stream.closed || stream.destroyed) entry.closed = true;
      else stream.once("close", () => onClose(id, entry));
    },
    settle(id, code, message) {
      const entry = entries.get(id);
      if (!entry) return;
      entry.status = { code, message };
      // Closed already: the library wrote the status itself before the handler heard (a deadline), or
      // the stream was reset first.
      if (entry.closed) report(id, entry);
    },
    release(id) {
      const entry = entries.get(id);
      if (!entry) return;
      entry.released = true;
      if (entry.closed) entries.delete(id);
    },
    get size() {
      return openCount();
    },
    drained(ms) {
      if (openCount() === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (all: boolean) => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(all);
        };
        const wake = () => done(true);
        const timer = setTimeout(() => done(false), ms);
        waiters.add(wake);
      });
    },
    dropping() {
      dropping = true;
    },
  };
}
