import type * as http2 from "node:http2";

export interface ConnectionAgeOptions {
  /** GOAWAY(NO_ERROR) this long after the connection opened, ms, +-10%; 0 turns rotation off. */
  maxAgeMs: number;
  /** After the GOAWAY, how long its streams may run before the connection is closed, ms; undefined: until they end. */
  graceMs: number | undefined;
}

/**
 * Rotates a connection, as gRPC servers do with grpc.max_connection_age_ms
 * (gRFC A9): a GOAWAY(NO_ERROR) at its age, so that clients open a new
 * connection for their next calls while the streams under way finish; then
 * the connection is closed once they have, or at the end of the grace. The
 * age varies by +-10% (A9's jitter), so that connections opened together do
 * not all go at once.
 *
 * One GOAWAY, naming the last stream the server took (Node's
 * session.close()): a call the client sends before it reads it is refused.
 * gRPC core avoids that with two (RFC 9113 section 6.8: one naming the
 * highest stream id, a PING, then the real one, seen on the wire with
 * tshark); Node cannot: any GOAWAY it sends makes nghttp2 ignore every new
 * stream from then on (nghttp2_session.c, session_allow_incoming_new_stream),
 * and Node offers no nghttp2_submit_shutdown_notice, the kind that would
 * not. Tried and measured (issue 17): the calls that crossed were refused
 * all the same, one round trip later.
 */
export function limitConnectionAge(session: http2.ServerHttp2Session, options: ConnectionAgeOptions): void {
  if (options.maxAgeMs <= 0) return;
  const ageMs = options.maxAgeMs * (0.9 + Math.random() * 0.2);
  const timer = setTimeout(() => {
    if (session.closed || session.destroyed) return;
    session.close();
    if (options.graceMs !== undefined) {
      const grace = setTimeout(() => session.destroy(), options.graceMs);
      grace.unref();
      session.once("close", () => clearTimeout(grace));
    }
  }, ageMs);
  timer.unref();
  session.once("close", () => clearTimeout(timer));
}
