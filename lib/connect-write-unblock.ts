import type * as http2 from "node:http2";

/**
 * connect-node 2.1.2 writes a reply message and, when Node says the stream's
 * buffer is full, waits for the response's "drain" or "error" event. A
 * client that leaves while a reply is blocked on flow control (a reset, a
 * closed connection) brings neither: Node closes the stream and calls no
 * pending write back. connect-node then waits forever, and the handler with
 * it, suspended at its `yield` where no signal can reach it (issue 13; a
 * reproduction: docs/repro/handler-never-ends.mts).
 *
 * Once the stream has closed, this says so to whoever waits on the response
 * for a write: the write fails, connect-node hands the error to the handler
 * at its `yield`, and the handler ends.
 */
export function unblockWritesOnClose(stream: http2.Http2Stream, res: http2.Http2ServerResponse): void {
  stream.once("close", () => {
    // Only while a write waits: connect-node listens for "error" just then, and an "error" with
    // no listener would end the process.
    if (res.writableFinished || res.listenerCount("error") === 0) return;
    const error = new Error("the stream closed before the reply could be sent") as NodeJS.ErrnoException;
    error.code = "ERR_STREAM_DESTROYED";
    res.emit("error", error);
  });
}
