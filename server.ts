/**
 * The Chat server on connect-node: gRPC, gRPC-Web and Connect on one h2c port.
 *
 *   node --import tsx server.ts --port 50051
 *
 * SIGTERM or SIGINT drains gracefully (GOAWAY, in-flight streams finish within
 * --grace-ms, the rest end with unavailable "server shutting down"); a second
 * signal ends everything at once.
 */
import { setMaxListeners } from "node:events";
import * as http2 from "node:http2";
import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createContextKey, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ChatResponseSchema, ChatService } from "./gen/chat_pb.ts";
import { chatReplies } from "./lib/chat-replies.ts";
import { runCli, UsageError } from "./lib/cli.ts";
import { addHealthService } from "./lib/connect-health-service.ts";
import { unblockWritesOnClose } from "./lib/connect-write-unblock.ts";
import { limitConnectionAge } from "./lib/connection-age.ts";
import { createHealthStatus, ServingStatus } from "./lib/health-status.ts";
import { listenError } from "./lib/listen-error.ts";
import { reportMemoryOnSignal } from "./lib/memory-report.ts";
import { type ReplyFlow, watchReplyFlow } from "./lib/reply-flow.ts";
import { readServerSettings } from "./lib/server-flags.ts";
import { createServerLog } from "./lib/server-log.ts";
import { keepSessionAlive, probeWhenIdle } from "./lib/session-keepalive.ts";
import { codeName } from "./lib/status-code.ts";
import { createStreamLedger } from "./lib/stream-ledger.ts";
import { clampTimeoutHeaders } from "./lib/timeout-header.ts";

const peerKey = createContextKey("unknown", { description: "remote address of the caller" });
const streamKey = createContextKey<http2.ServerHttp2Stream | undefined>(undefined, {
  description: "the call's HTTP/2 stream, to learn how it really closed",
});
const flowKey = createContextKey<ReplyFlow | undefined>(undefined, {
  description: "the reply's way to the socket: what was sent, what stalls",
});

runCli("server", async () => {
  const {
    host,
    port,
    count,
    graceMs,
    quiet,
    readMaxBytes,
    maxStreams,
    keepalive,
    replies,
    flow,
    writeUnblock,
    stopMode,
    connectionAge,
    libraryOptions,
    tls,
  } = readServerSettings(
    "server",
    "the Chat service on connect-node (gRPC, gRPC-Web and Connect over h2c, or TLS with --tls-cert)",
  );
  if (Object.keys(libraryOptions).length > 0) {
    throw new UsageError(
      "--options: connect-node has no server option that changes liveness; use --ping-interval-ms, --ping-timeout-ms and --write-stall-timeout-ms",
    );
  }
  const log = createServerLog({ quiet });
  reportMemoryOnSignal(log, () => active);
  const health = createHealthStatus({ services: [ChatService.typeName] });

  // Aborting this ends every running handler; clients read its reason as
  // their status (connect-es router option shutdownSignal).
  const shutdown = new AbortController();
  // connect-node adds one listener to it per call in flight, removed when the call ends: more
  // than 10 calls at once is normal, not the leak Node's MaxListenersExceededWarning suspects.
  setMaxListeners(0, shutdown.signal);
  let nextId = 1;
  /** Chat handlers running. */
  let active = 0;
  // "ended: CODE" is logged when the stream closes cleanly, not when the handler returns (issue 10).
  const ledger = createStreamLedger(log);

  const routes = (router: ConnectRouter) =>
    addHealthService(router, health).service(ChatService, {
      async *chat(request, ctx) {
        const id = nextId++;
        active++;
        log.streamStarted(id, ctx.values.get(peerKey), ctx.protocolName);
        ledger.open(id, ctx.values.get(streamKey));
        const reply = ctx.values.get(flowKey);
        // Writes beyond the messages (a Connect end-stream message, gRPC-Web trailers) are not logged.
        if (reply) {
          reply.hooks.sent = (message) => message <= count && log.sent(id, message, count);
          reply.hooks.stalled = (stall) =>
            log.writeStalled(id, stall.message, count, stall.unsent, stall.stalledMs, stall.waitingForRoom);
        }
        try {
          // A connection whose client reads nothing holds no more than its budget of unsent replies:
          // a handler waits for room before it makes its next message (issue 21).
          for await (const response of chatReplies(request, replies, ctx.signal, () => reply?.room(ctx.signal))) {
            reply?.count(toBinary(ChatResponseSchema, response).byteLength + 5);
            ctx.signal.throwIfAborted();
            yield response;
          }
          ledger.settle(id, "ok");
        } catch (e) {
          // Why the handler stopped: its signal's reason when it has one (the client's reset, the
          // deadline, the shutdown), not the failed write it may have been waiting on.
          const error = ConnectError.from(ctx.signal.aborted ? ctx.signal.reason : e);
          if (reply?.stalled) {
            // Its own line said what happened: the stream was reset for a stalled write.
          } else if (shutdown.signal.aborted || error.code === Code.DeadlineExceeded) {
            ledger.settle(id, codeName(error.code), error.rawMessage);
          } else {
            log.clientGone(id, codeName(error.code), error.rawMessage);
          }
          throw error;
        } finally {
          active--;
          ledger.release(id);
        }
      },
    });

  const handler = connectNodeAdapter({
    routes,
    shutdownSignal: shutdown.signal,
    // A bigger request ends its call resource_exhausted before it is buffered whole.
    readMaxBytes,
    // The handler context has no peer address; carry it in through a context value.
    contextValues: (req) =>
      createContextValues()
        .set(peerKey, `${req.socket.remoteAddress}:${req.socket.remotePort}`)
        .set(streamKey, "stream" in req ? req.stream : undefined)
        .set(flowKey, flows.get(req as http2.Http2ServerRequest)),
  });
  /** Each request's reply flow, for its handler (contextValues only sees the request). */
  const flows = new WeakMap<http2.Http2ServerRequest, ReplyFlow>();
  const onRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    try {
      clampTimeoutHeaders(req.headers);
      flows.set(req, watchWrites(req.stream, res));
      if (writeUnblock) unblockWritesOnClose(req.stream, res);
      handler(req, res);
    } catch {
      // connect-node 2.1 builds new URL(path, "http://" + :authority) outside any catch: one
      // request with a malformed :authority ("127.j.0.1", found by server-fuzz.test.ts) would
      // throw out of the request event and end the process. Refuse that request instead.
      if (!res.headersSent) res.writeHead(400);
      res.end();
    }
  };
  // Concurrent streams per connection: Node's default is 2^32-1 (see lib/server-flags.ts).
  const settings = { maxConcurrentStreams: maxStreams };
  // Over TLS, HTTP/2 only (ALPN h2): connect-node's Connect protocol over HTTP/1.1 is not what the lab measures.
  const server = tls
    ? http2.createSecureServer({ settings, cert: tls.cert, key: tls.key, ALPNProtocols: ["h2"] }, onRequest)
    : http2.createServer({ settings }, onRequest);

  /**
   * Sees each write connect-node makes go to the socket (its callback, in write order), for the log
   * and the stall timer. The handler counted each message before it yielded it.
   */
  function watchWrites(stream: http2.ServerHttp2Stream, res: http2.Http2ServerResponse): ReplyFlow {
    const reply = watchReplyFlow(stream, flow);
    const write = res.write.bind(res) as (chunk: Uint8Array | string, ...rest: unknown[]) => boolean;
    res.write = ((chunk: Uint8Array | string, ...rest: unknown[]) => {
      const callback = rest.find((a): a is (e?: Error | null) => void => typeof a === "function");
      const encoding = rest.find((a) => typeof a === "string");
      return write(chunk, encoding ?? "binary", (error?: Error | null) => {
        if (!error) reply.sent();
        callback?.(error);
      });
    }) as typeof res.write;
    return reply;
  }

  // Node 20's server.close() sends no GOAWAY to open sessions and waits for
  // them forever, so we track sessions and close each one ourselves.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    // A peer that sends garbage ends its own session; the server goes on.
    session.on("error", () => {});
    keepSessionAlive(session, keepalive);
    probeWhenIdle(session);
    limitConnectionAge(session, connectionAge);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(listenError(e, host, port)));
    server.listen(port, host, () => resolve());
  });
  server.on("error", (e) => log.shutdown(`server error: ${e.message}`));
  const address = server.address();
  log.listening(host, typeof address === "object" && address ? address.port : port, "connect-node");

  /** How long a second signal waits for the streams' statuses to leave before it drops the connections. */
  const flushMs = 500;
  let ending = false;
  const endNow = (why: string, waitMs = flushMs) => {
    if (ending) return;
    ending = true;
    const streams = active > 0 ? `ending ${active} stream(s) with unavailable "server shutting down", then ` : "";
    log.shutdown(`${why}: ${streams}closing ${sessions.size} session(s) within ${waitMs} ms`);
    shutdown.abort(new ConnectError("server shutting down", Code.Unavailable));
    // Destroying the sessions at once would drop the statuses just handed to HTTP/2: clients
    // would read a dropped connection instead (issue 10). Wait until the streams have closed with
    // their status and the sessions (closed at the first signal) have flushed and closed, unless a
    // peer that does not read holds them up.
    const deadline = performance.now() + waitMs;
    void ledger
      .drained(waitMs)
      .then(() => sessionsClosed(Math.max(0, deadline - performance.now())))
      .then(() => {
        ledger.dropping();
        for (const session of sessions) session.destroy();
        log.shutdown("done");
        process.exit(1);
      });
  };
  /** Resolves once every session has closed, or after `ms`. */
  const sessionsClosed = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      const check = () => {
        if (sessions.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      for (const session of sessions) session.once("close", () => setImmediate(check));
      check();
    });

  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      endNow(`second ${signal}`);
      return;
    }
    draining = true;
    // health-checking.md: NOT_SERVING from the moment the drain starts. Watches get it, then
    // end (unavailable), so that they do not hold the drain up as streams in flight.
    health.setAll(ServingStatus.NOT_SERVING);
    health.endWatches(new ConnectError("server shutting down", Code.Unavailable));
    // The line says what has happened, so it comes after the listener closed: printed first, a
    // client that read it could still connect while this process waited for the CPU (issue 22:
    // a probe after the line found the port open in 8 of 20 drains on a loaded machine).
    const open = sessions.size;
    server.close(() => {
      if (ending) return;
      log.shutdown("done");
      process.exit(0);
    });
    for (const session of sessions) session.close();
    log.shutdown(
      `${signal}: refusing new connections, GOAWAY to ${open} session(s), ` +
        `${active} stream(s) in flight, grace ${graceMs} ms`,
    );
    const grace = setTimeout(() => {
      if (active > 0) log.shutdown(`grace over: ending ${active} stream(s) with unavailable "server shutting down"`);
      shutdown.abort(new ConnectError("server shutting down", Code.Unavailable));
      // Sessions close once their aborted streams have sent their trailers; a peer that never
      // reads them must not hold the exit up. They had their second: no more waiting.
      setTimeout(() => endNow("sessions still open 1000 ms after grace", 0), 1000).unref();
    }, graceMs);
    grace.unref();
  };
  // The library's own ways to stop (issue 12), as most servers stop: measured beside ours.
  const libraryGraceful = (signal: NodeJS.Signals) => {
    if (draining) return;
    draining = true;
    const open = sessions.size;
    server.close(() => {
      log.shutdown("done");
      process.exit(0);
    });
    for (const session of sessions) session.close();
    log.shutdown(
      `${signal}: server.close() and session.close() (GOAWAY) on ${open} session(s), ${active} stream(s) in flight`,
    );
  };
  switch (stopMode) {
    case "ours":
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      break;
    case "library-graceful":
      process.on("SIGTERM", libraryGraceful);
      process.on("SIGINT", libraryGraceful);
      break;
    case "library-immediate":
      // No handler: Node's default, the signal ends the process (exit by signal).
      break;
  }
});
