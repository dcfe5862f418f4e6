import type * as http2 from "node:http2";

export interface SessionKeepaliveOptions {
  /** PING the client this often, ms; 0 turns keepalive off. */
  intervalMs: number;
  /** Destroy the session when a PING is unanswered this long, ms. */
  timeoutMs: number;
}

/**
 * Server-side HTTP/2 keepalive for one session, as grpc-js servers do with
 * grpc.keepalive_time_ms / grpc.keepalive_timeout_ms: a PING every
 * intervalMs, and the session destroyed when one goes unanswered for
 * timeoutMs.
 *
 * It ends sessions whose client vanished (power loss, a dropped network)
 * and one more kind: after a connection error of the client's making (a
 * DATA frame on an idle stream, say), Node's HTTP/2 sends GOAWAY and stops
 * reading the socket, so it never sees the client's FIN and keeps the
 * socket in CLOSE-WAIT for good (found by server-fuzz.test.ts; the same in
 * grpc-js servers, whose keepalive ends them the same way). Such a session
 * never answers a PING.
 */
export function keepSessionAlive(session: http2.Http2Session, options: SessionKeepaliveOptions): void {
  if (options.intervalMs <= 0) return;
  const timer = setInterval(() => {
    if (session.destroyed || session.closed) return;
    const deadline = setTimeout(() => session.destroy(), options.timeoutMs);
    deadline.unref();
    try {
      const sent = session.ping((error) => {
        clearTimeout(deadline);
        if (error) session.destroy();
      });
      if (!sent) session.destroy();
    } catch {
      // Node throws when the session can no longer send anything: it is dead already.
      clearTimeout(deadline);
      session.destroy();
    }
  }, options.intervalMs);
  timer.unref();
  session.once("close", () => clearInterval(timer));
}
