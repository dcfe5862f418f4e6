import type * as http2 from "node:http2";

export interface SessionKeepaliveOptions {
  /** PING the client this often, ms; 0 turns keepalive off. */
  intervalMs: number;
  /** Destroy the session when a PING is unanswered this long, ms. */
  timeoutMs: number;
}

/** How long a connection with no stream may linger before it is probed once, and how long the probe may take, ms. */
export const idleProbeMs = 1000;

/**
 * Server-side HTTP/2 keepalive for one session, as grpc-js servers do with
 * grpc.keepalive_time_ms / grpc.keepalive_timeout_ms: a PING every
 * intervalMs, and the session destroyed when one goes unanswered for
 * timeoutMs. It ends sessions whose client vanished (power loss, a dropped
 * network).
 */
export function keepSessionAlive(session: http2.Http2Session, options: SessionKeepaliveOptions): void {
  if (options.intervalMs <= 0) return;
  const timer = setInterval(() => ping(session, options.timeoutMs), options.intervalMs);
  timer.unref();
  session.once("close", () => clearInterval(timer));
}

/**
 * One PING; the session is destroyed when it goes unanswered for timeoutMs,
 * or cannot be sent. Returns a function that forgets the PING: its answer
 * no longer matters.
 */
function ping(session: http2.Http2Session, timeoutMs: number): () => void {
  if (session.destroyed || session.closed) return () => {};
  const deadline = setTimeout(() => session.destroy(), timeoutMs);
  deadline.unref();
  let forgotten = false;
  try {
    const sent = session.ping((error) => {
      clearTimeout(deadline);
      if (error && !forgotten) session.destroy();
    });
    if (!sent) session.destroy();
  } catch {
    // Node throws when the session can no longer send anything: it is dead already.
    clearTimeout(deadline);
    session.destroy();
  }
  return () => {
    forgotten = true;
    clearTimeout(deadline);
  };
}

/**
 * Closes a connection that outlived its use (issue 13). After a connection
 * error of the client's making (a DATA frame on an idle stream, a rapid-reset
 * flood, headers too big), Node's HTTP/2 sends GOAWAY and stops reading the
 * socket, with no event to say so: it never sees the client's FIN and keeps
 * the socket, and its unread bytes, open until keepalive finds it dead
 * (60-80 s by default). So a session with no stream open is probed once,
 * `idleProbeMs` after its last stream ended (or after it began): a live
 * client answers the PING at once, a session Node has given up on cannot
 * even send it, and is destroyed `idleProbeMs` later.
 */
export function probeWhenIdle(session: http2.Http2Session): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  let forgetProbe = () => {};
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (open === 0) forgetProbe = ping(session, idleProbeMs);
    }, idleProbeMs);
    timer.unref();
  };
  session.on("stream", (stream: http2.Http2Stream) => {
    open++;
    clearTimeout(timer);
    // A new stream is the answer the probe asked for: Node is reading this session, and the
    // client is alive. A late PING ACK from a busy client must not end the streams it now
    // carries (issue 22: a client starved of CPU for a second lost 50 live streams, which read
    // internal "missing status", and the server logged each as "client gone").
    forgetProbe();
    stream.once("close", () => {
      if (--open === 0) arm();
    });
  });
  session.once("close", () => {
    clearTimeout(timer);
    forgetProbe();
  });
  arm();
}
