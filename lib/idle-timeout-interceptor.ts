import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

export interface IdleTimeoutOptions {
  /**
   * Longest wait for the next message of a server stream, in ms, counted
   * from the start of the call and then from each message. No default: pick
   * one well above the longest pause a healthy stream makes.
   */
  idleTimeoutMs: number;
}

/** The message a stream ends with when it went quiet for too long. */
export function idleTimeoutMessage(idleTimeoutMs: number): string {
  return `idle timeout: no message for ${idleTimeoutMs} ms`;
}

/**
 * A watchdog for server streams: aborts the call with `deadline_exceeded`
 * "idle timeout: no message for N ms" when no message arrives within
 * idleTimeoutMs. It ends the hangs that HTTP/2 keepalive cannot see: a server
 * process whose handler stopped writing still answers PINGs (gRPC
 * keepalive.md), and a deadline caps the whole stream, however healthy.
 *
 *   createGrpcTransport({ baseUrl, interceptors: [createIdleTimeoutInterceptor({ idleTimeoutMs: 30_000 })] })
 *
 * deadline_exceeded because it is a per-message deadline (statuscodes.md:
 * "the deadline expired before the operation could complete"); the call is
 * cancelled on the wire (RST_STREAM CANCEL), so the server stops too.
 * Unary calls pass through untouched.
 */
/**
 * Whether the server sends a stream. connect-node 2 names the kind (methodKind "server_streaming");
 * connect-node 1, on protobuf-es 1, numbers it (kind: MethodKind.ServerStreaming = 1, BiDiStreaming
 * = 3): the lab runs this interceptor on both (--versions, issue 18).
 */
function serverStreams(method: { methodKind?: string }): boolean {
  const kind = (method as { kind?: number }).kind;
  return method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming" || kind === 1 || kind === 3;
}

export function createIdleTimeoutInterceptor(options: IdleTimeoutOptions): Interceptor {
  const { idleTimeoutMs } = options;
  return (next) => async (req) => {
    if (!serverStreams(req.method)) return next(req);
    const abort = new AbortController();
    const onCallerAbort = () => abort.abort(req.signal.reason);
    if (req.signal.aborted) onCallerAbort();
    req.signal.addEventListener("abort", onCallerAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    let idle = false;
    const timedOut = () => new ConnectError(idleTimeoutMessage(idleTimeoutMs), Code.DeadlineExceeded);
    const arm = () => {
      clearTimeout(timer);
      // Abort with a canceled reason so connect-node resets the stream with CANCEL: the
      // deadline rule for the wire (PROTOCOL-HTTP2.md: an expired deadline is a client
      // cancellation). Any other code makes it send INTERNAL_ERROR. The caller gets deadline_exceeded.
      timer = setTimeout(() => {
        idle = true;
        abort.abort(new ConnectError(idleTimeoutMessage(idleTimeoutMs), Code.Canceled));
      }, idleTimeoutMs);
    };
    const disarm = () => {
      clearTimeout(timer);
      req.signal.removeEventListener("abort", onCallerAbort);
    };
    arm();
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next({ ...req, signal: abort.signal });
    } catch (e) {
      disarm();
      throw idle ? timedOut() : e;
    }
    if (!res.stream) {
      disarm();
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          for await (const message of messages) {
            arm();
            yield message;
          }
        } catch (e) {
          // The transport reports our abort as canceled; say why it happened.
          throw idle ? timedOut() : e;
        } finally {
          disarm();
        }
      })(),
    };
  };
}
