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
 * not all go at once. Node's session.close() sends one GOAWAY naming the
 * last stream it took: a stream the client sends meanwhile is refused
 * (REFUSED_STREAM), which is what the lab's max-connection-age case watches.
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
