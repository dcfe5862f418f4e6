import type { IncomingHttpHeaders } from "node:http2";

/** The longest timer Node keeps: a longer setTimeout fires after 1 ms instead, with a warning. */
const maxTimerMs = 2 ** 31 - 1;

/** Milliseconds per grpc-timeout unit (PROTOCOL-HTTP2.md: Timeout). */
const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * Clamps request timeouts to what a Node timer can hold, in place.
 *
 * gRPC allows grpc-timeout up to 99999999 hours and Connect allows
 * connect-timeout-ms up to 10 digits, but connect-node 2.1 hands the value to
 * setTimeout, which fires after 1 ms for anything over 2^31-1 ms (~24.8
 * days): a client asking for a very long deadline got deadline_exceeded at
 * once (found by server-fuzz.test.ts). A deadline of 24.8 days means the same
 * to a Chat stream. Values that are not valid are left for connect-node to
 * refuse.
 */
export function clampTimeoutHeaders(headers: IncomingHttpHeaders): void {
  const grpc = headers["grpc-timeout"];
  const m = typeof grpc === "string" ? /^(\d{1,8})([HMSmun])$/.exec(grpc) : null;
  // grpc-timeout holds at most 8 digits: in seconds, the longest timer is 2147483S.
  if (m && Number(m[1]) * unitMs[m[2]] > maxTimerMs) headers["grpc-timeout"] = `${Math.floor(maxTimerMs / 1000)}S`;
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect) && Number(connect) > maxTimerMs) {
    headers["connect-timeout-ms"] = String(maxTimerMs);
  }
}
