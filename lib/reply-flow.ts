import * as http2 from "node:http2";

/**
 * Where each Chat reply stands between the handler and the socket (issue
 * 13). A message handed to HTTP/2 is not sent: it waits in the stream's
 * buffer until the client's flow-control window lets it out. A client that
 * stops reading (a zero window) but answers PINGs would keep every reply,
 * and its memory, for as long as it likes. So each stream's unsent bytes are
 * watched: a reply that cannot be sent for `stallTimeoutMs` ends its stream,
 * and a connection holds at most `maxUnsentBytes` of unsent replies before
 * its handlers wait.
 */
export interface ReplyFlowOptions {
  /** Reset a stream whose reply has not moved for this long, ms; 0 turns it off. Default on the servers: 20000. */
  stallTimeoutMs: number;
  /** Unsent reply bytes a connection may hold before its handlers wait, bytes. Default on the servers: 1 MiB. */
  maxUnsentBytes: number;
}

/** What a reply is doing, for the log. */
export interface ReplyStall {
  /** The message (1-based, in write order) the stream waits to send. */
  message: number;
  /** Unsent bytes on the stream. */
  unsent: number;
  /** How long nothing moved, ms. */
  stalledMs: number;
}

export interface ReplyFlow {
  /**
   * Waits for room for a message of `bytes` on the stream's connection (its
   * unsent replies under the budget, or none at all), then counts it as
   * unsent. Resolves at once when `signal` has aborted, or the stream closes
   * (the stall timer runs while it waits).
   */
  reserve(bytes: number, signal: AbortSignal): Promise<void>;
  /** The oldest message counted went to the socket: its write was called back, the stream still open. */
  sent(): void;
  /** Told when a message (numbered from 1) has gone to the socket, and when the stream stalled. */
  hooks: { sent?: (message: number) => void; stalled?: (stall: ReplyStall) => void };
  /** The stall timer fired and the stream was reset. */
  readonly stalled: ReplyStall | undefined;
}

interface SessionBudget {
  unsent: number;
  waiters: Set<() => void>;
}

const budgets = new WeakMap<http2.Http2Session, SessionBudget>();

/** The unsent reply bytes of a connection. */
export function unsentBytes(session: http2.Http2Session | undefined): number {
  return (session && budgets.get(session)?.unsent) ?? 0;
}

/**
 * Watches one stream's reply. On a stall it resets the stream with
 * ENHANCE_YOUR_CALM (RFC 9113 section 7: the peer is "exhibiting a behavior
 * that might be generating excessive load"; gRPC maps it to
 * RESOURCE_EXHAUSTED): no status can pass the DATA that waits ahead of it,
 * and the handler's own signal then ends it.
 */
export function watchReplyFlow(stream: http2.Http2Stream, options: ReplyFlowOptions): ReplyFlow {
  const hooks: ReplyFlow["hooks"] = {};
  const session = stream.session;
  let budget: SessionBudget | undefined;
  if (session) {
    budget = budgets.get(session);
    if (!budget) {
      budget = { unsent: 0, waiters: new Set() };
      budgets.set(session, budget);
    }
  }
  /** Unsent messages, oldest first: their sizes and numbers. */
  const pending: { bytes: number; message: number }[] = [];
  let messages = 0;
  let timer: NodeJS.Timeout | undefined;
  let lastMove = performance.now();
  let stalled: ReplyStall | undefined;

  const release = (bytes: number) => {
    if (!budget || bytes === 0) return;
    budget.unsent -= bytes;
    for (const wake of [...budget.waiters]) wake();
  };
  /** A message waiting for room on its connection: it cannot be sent either. */
  let waiting: { bytes: number } | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = undefined;
    if (options.stallTimeoutMs <= 0 || (pending.length === 0 && !waiting) || stream.destroyed) return;
    timer = setTimeout(() => {
      const unsent = pending.reduce((n, p) => n + p.bytes, 0) + (waiting?.bytes ?? 0);
      const message = pending[0]?.message ?? messages + 1;
      stalled = { message, unsent, stalledMs: Math.round(performance.now() - lastMove) };
      hooks.stalled?.(stalled);
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }, options.stallTimeoutMs);
    timer.unref();
  };
  const fits = (bytes: number) => !budget || budget.unsent === 0 || budget.unsent + bytes <= options.maxUnsentBytes;
  stream.once("close", () => {
    clearTimeout(timer);
    // Whatever was never sent is gone with the stream: it no longer weighs on the connection.
    release(pending.splice(0).reduce((n, p) => n + p.bytes, 0));
  });

  return {
    hooks,
    get stalled() {
      return stalled;
    },
    async reserve(bytes, signal) {
      if (!fits(bytes) && !signal.aborted && budget) {
        const b = budget;
        // Waiting for room is not sending either: the stall timer runs (from now, if nothing was pending).
        waiting = { bytes };
        if (pending.length === 0) {
          lastMove = performance.now();
          arm();
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            if (!fits(bytes) && !signal.aborted && !stream.destroyed) return;
            b.waiters.delete(wake);
            signal.removeEventListener("abort", wake);
            resolve();
          };
          b.waiters.add(wake);
          signal.addEventListener("abort", wake, { once: true });
          stream.once("close", wake);
        });
        waiting = undefined;
      }
      if (signal.aborted || stream.destroyed) return;
      pending.push({ bytes, message: ++messages });
      if (budget) budget.unsent += bytes;
      if (pending.length === 1) {
        lastMove = performance.now();
        arm();
      }
    },
    sent() {
      // Node calls a write back when it destroys the stream too, unsent: that is not a send.
      if (stream.destroyed) return;
      const entry = pending.shift();
      if (!entry) return;
      release(entry.bytes);
      lastMove = performance.now();
      arm();
      hooks.sent?.(entry.message);
    },
  };
}
