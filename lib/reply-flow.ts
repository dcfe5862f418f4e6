import * as http2 from "node:http2";

/**
 * Where each Chat reply stands between the handler and the socket (issue
 * 13). A message handed to HTTP/2 is not sent: it waits in the stream's
 * buffer until the client's flow-control window lets it out. A client that
 * stops reading (a zero window) but answers PINGs would keep every reply,
 * and its memory, for as long as it likes. So each stream's unsent bytes are
 * watched: a reply that cannot be sent for `stallTimeoutMs` ends its stream,
 * and a connection holds at most `maxUnsentBytes` of unsent replies (and
 * one message more, being made) before its handlers wait, without making
 * their next message.
 */
export interface ReplyFlowOptions {
  /** Reset a stream whose reply has not moved for this long, ms; 0 turns it off. Default on the servers: 20000. */
  stallTimeoutMs: number;
  /**
   * Unsent reply bytes a connection may hold before its handlers wait (and
   * make nothing), bytes; one message more may be under way. Default on the
   * servers: 1 MiB.
   */
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
  /** It waited for room on its connection: the message was not even made. */
  waitingForRoom: boolean;
}

export interface ReplyFlow {
  /**
   * Waits, before the handler makes its next message, until the stream's
   * connection has room: its unsent replies under the budget, and no other
   * stream of it making a message (so a connection holds at most the budget
   * plus one message, however many handlers wait: issue 21). Then the
   * stream holds the connection's turn until count() (or its close, or
   * `signal`). Resolves at once when `signal` has aborted or the stream has
   * closed; the stall timer runs while it waits.
   */
  room(signal: AbortSignal): Promise<void>;
  /** The message made in this stream's turn is `bytes` long: counted as unsent; the turn passes on. */
  count(bytes: number): void;
  /** The oldest message counted went to the socket: its write was called back, the stream still open. */
  sent(): void;
  /** Told when a message (numbered from 1) has gone to the socket, and when the stream stalled. */
  hooks: { sent?: (message: number) => void; stalled?: (stall: ReplyStall) => void };
  /** The stall timer fired and the stream was reset. */
  readonly stalled: ReplyStall | undefined;
}

interface SessionBudget {
  unsent: number;
  /** The stream whose handler is making a message now (its turn), if any. */
  turn: object | undefined;
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
      budget = { unsent: 0, turn: undefined, waiters: new Set() };
      budgets.set(session, budget);
    }
  }
  /** This stream, as the holder of its connection's turn. */
  const me = {};
  /** Unsent messages, oldest first: their sizes and numbers. */
  const pending: { bytes: number; message: number }[] = [];
  let messages = 0;
  let timer: NodeJS.Timeout | undefined;
  let lastMove = performance.now();
  let stalled: ReplyStall | undefined;
  /** Waiting for its connection's room: it cannot send either. */
  let waiting = false;
  /** The signal of the handler that holds the turn. */
  let turnSignal: AbortSignal | undefined;

  const wakeAll = () => {
    for (const wake of [...(budget?.waiters ?? [])]) wake();
  };
  const release = (bytes: number) => {
    if (!budget || bytes === 0) return;
    budget.unsent -= bytes;
    wakeAll();
  };
  const passTurn = () => {
    if (budget?.turn !== me) return;
    budget.turn = undefined;
    wakeAll();
  };
  const arm = () => {
    clearTimeout(timer);
    timer = undefined;
    if (options.stallTimeoutMs <= 0 || (pending.length === 0 && !waiting) || stream.destroyed) return;
    timer = setTimeout(() => {
      const unsent = pending.reduce((n, p) => n + p.bytes, 0);
      const message = pending[0]?.message ?? messages + 1;
      stalled = {
        message,
        unsent,
        stalledMs: Math.round(performance.now() - lastMove),
        waitingForRoom: waiting && pending.length === 0,
      };
      hooks.stalled?.(stalled);
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }, options.stallTimeoutMs);
    timer.unref();
  };
  const hasRoom = () => !budget || (budget.unsent < options.maxUnsentBytes && budget.turn === undefined);
  stream.once("close", () => {
    clearTimeout(timer);
    passTurn();
    // Whatever was never sent is gone with the stream: it no longer weighs on the connection.
    release(pending.splice(0).reduce((n, p) => n + p.bytes, 0));
  });

  return {
    hooks,
    get stalled() {
      return stalled;
    },
    async room(signal) {
      if (!budget || signal.aborted || stream.destroyed) return;
      const b = budget;
      // The turn is taken in the same breath as the room is seen: of the handlers woken together,
      // one gets it, the others see it taken and wait on.
      const take = () => {
        b.turn = me;
        turnSignal = signal;
        // A handler that gives up before it counts its message passes the turn on.
        signal.addEventListener("abort", passTurn, { once: true });
      };
      if (hasRoom()) {
        take();
        return;
      }
      // Waiting for room is not sending either: the stall timer runs (from now, if nothing was pending).
      waiting = true;
      if (pending.length === 0) {
        lastMove = performance.now();
        arm();
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          const giveUp = signal.aborted || stream.destroyed;
          if (!giveUp && !hasRoom()) return;
          b.waiters.delete(wake);
          signal.removeEventListener("abort", wake);
          if (!giveUp) take();
          resolve();
        };
        b.waiters.add(wake);
        signal.addEventListener("abort", wake, { once: true });
        stream.once("close", wake);
      });
      waiting = false;
    },
    count(bytes) {
      turnSignal?.removeEventListener("abort", passTurn);
      turnSignal = undefined;
      passTurn();
      if (stream.destroyed) return;
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
