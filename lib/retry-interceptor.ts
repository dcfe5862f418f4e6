import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type Interceptor, type StreamRequest, type StreamResponse } from "@connectrpc/connect";

export interface RetryOptions {
  /** Attempts in all, the first included. Default: 3. */
  maxAttempts?: number;
  /** Pause before the first retry, ms; each later one `multiplier` times longer. Default: 100. */
  initialBackoffMs?: number;
  /** Longest pause between two attempts, ms. Default: 1000. */
  maxBackoffMs?: number;
  /** Growth of the pause from one retry to the next. Default: 2. */
  multiplier?: number;
  /** Codes worth another attempt. Default: unavailable only. */
  retryableCodes?: readonly Code[];
}

/**
 * Retries a call that failed with a retryable code before its first response
 * message, as a gRPC service config's retryPolicy does (gRFC A6), for
 * connect-node, which has no retries of its own (issue 17):
 *
 *   createGrpcTransport({ baseUrl, interceptors: [createRetryInterceptor({ maxAttempts: 4 })] })
 *
 * - Once a response message has arrived the call is committed (A6): a later
 *   failure reaches the caller as it is, since the caller has acted on the
 *   message and a retry would repeat it.
 * - Pauses are "full jitter" as in A6: a random time up to the current
 *   backoff, so that many clients do not come back at once.
 * - The call's own deadline and signal bound all its attempts: no attempt
 *   starts after them, and a pause ends with them.
 * - Only retry calls that are safe to repeat. connect-node reads a dropped
 *   connection as `canceled` and a reset one as `aborted` (the lab's
 *   findings), not `unavailable`: with the default codes this interceptor
 *   will not retry those; adding them retries what a user's own cancel
 *   looks like too.
 */
export function createRetryInterceptor(options: RetryOptions = {}): Interceptor {
  const maxAttempts = options.maxAttempts ?? 3;
  const initial = options.initialBackoffMs ?? 100;
  const max = options.maxBackoffMs ?? 1000;
  const multiplier = options.multiplier ?? 2;
  const retryable = new Set(options.retryableCodes ?? [Code.Unavailable]);
  const worthRetrying = (e: unknown, attempt: number, signal: AbortSignal) =>
    attempt < maxAttempts && !signal.aborted && retryable.has(ConnectError.from(e).code);
  const pause = (attempt: number, signal: AbortSignal) =>
    sleep(Math.random() * Math.min(max, initial * multiplier ** (attempt - 1)), undefined, { signal }).catch(() => {});

  return (next) => async (req) => {
    if (!req.stream) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await next(req);
        } catch (e) {
          if (!worthRetrying(e, attempt, req.signal)) throw e;
          await pause(attempt, req.signal);
        }
      }
    }
    // A stream's request messages can be sent once: keep them to send them again.
    const sent: unknown[] = [];
    for await (const message of req.message) sent.push(message);
    const again = (): StreamRequest =>
      ({
        ...req,
        message: (async function* () {
          yield* sent;
        })(),
      }) as StreamRequest;
    let attempt = 1;
    let res: StreamResponse;
    for (;;) {
      try {
        res = (await next(again())) as StreamResponse;
        break;
      } catch (e) {
        if (!worthRetrying(e, attempt, req.signal)) throw e;
        await pause(attempt++, req.signal);
      }
    }
    // The response the caller reads: its header and trailer are the attempt that answered.
    let current = res;
    const messages = (async function* () {
      for (;;) {
        let committed = false;
        try {
          for await (const message of current.message) {
            committed = true;
            yield message;
          }
          return;
        } catch (e) {
          if (committed || !worthRetrying(e, attempt, req.signal)) throw e;
        }
        // Failed before its first message: another attempt, whose response takes over.
        for (;;) {
          await pause(attempt++, req.signal);
          try {
            current = (await next(again())) as StreamResponse;
            break;
          } catch (e) {
            if (!worthRetrying(e, attempt, req.signal)) throw e;
          }
        }
      }
    })();
    return {
      ...res,
      get header() {
        return current.header;
      },
      get trailer() {
        return current.trailer;
      },
      message: messages,
    } as StreamResponse;
  };
}
