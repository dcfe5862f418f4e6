/**
 * The Chat server on grpc-js (gRPC protocol only), with the same flags and
 * printed lines as server.ts, so either can stand behind a client.
 *
 *   node --import tsx peers/grpc-js-server.ts --port 50051
 *
 * SIGTERM or SIGINT: tryShutdown (GOAWAY, in-flight streams finish) within
 * --grace-ms; then the streams still running end with unavailable "server
 * shutting down" (as server.ts does) and forceShutdown closes the rest.
 */
import { once } from "node:events";
import { toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { type ChatRequest, type ChatResponse, ChatResponseSchema, ChatService } from "../gen/chat_pb.ts";
import { chatReplies } from "../lib/chat-replies.ts";
import { runCli, UsageError } from "../lib/cli.ts";
import { addGrpcJsHealthService } from "../lib/grpc-js-health-service.ts";
import { chatServiceDefinition } from "../lib/grpc-js-service.ts";
import { onGrpcJsSessions } from "../lib/grpc-js-sessions.ts";
import { createStreamAccess } from "../lib/grpc-js-stream-access.ts";
import { createHealthStatus, ServingStatus } from "../lib/health-status.ts";
import { reportMemoryOnSignal } from "../lib/memory-report.ts";
import { watchReplyFlow } from "../lib/reply-flow.ts";
import { readServerSettings } from "../lib/server-flags.ts";
import { createServerLog } from "../lib/server-log.ts";
import { probeWhenIdle } from "../lib/session-keepalive.ts";
import { codeName } from "../lib/status-code.ts";
import { createStreamLedger } from "../lib/stream-ledger.ts";

type ChatCall = grpc.ServerWritableStream<ChatRequest, ChatResponse>;

/** Why a handler's signal was aborted: the reason tells the log line which one. */
const shuttingDown = { code: grpc.status.UNAVAILABLE, details: "server shutting down" };

// grpc-js logs its own one-line errors to stderr; ours say the same once. GRPC_VERBOSITY still wins.
if (!process.env.GRPC_VERBOSITY) grpc.setLogVerbosity(grpc.logVerbosity.NONE);

runCli("grpc-js-server", async () => {
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
    stopMode,
    connectionAge,
    libraryOptions,
    tls,
  } = readServerSettings("grpc-js-server", "the Chat service on grpc-js (gRPC over h2c, or TLS with --tls-cert)");
  const log = createServerLog({ quiet });
  reportMemoryOnSignal(log, () => active.size);

  let nextId = 1;
  /** Running calls by stream number, each with the controller that stops its handler. */
  const active = new Map<number, AbortController>();
  // "ended: CODE" is logged when the stream closes cleanly, not when the handler returns (issue 10).
  const ledger = createStreamLedger(log);
  const streamAccess = createStreamAccess();

  async function chat(call: ChatCall): Promise<void> {
    const id = nextId++;
    const abort = new AbortController();
    active.set(id, abort);
    // grpc-js reports a client that left (cancel, deadline, lost connection) as "cancelled".
    call.on("cancelled", () => abort.abort(call.getDeadline() <= new Date() ? "deadline_exceeded" : "canceled"));
    log.streamStarted(id, call.getPeer(), "grpc");
    const stream = streamAccess.take(call.metadata);
    ledger.open(id, stream);
    const reply = stream && watchReplyFlow(stream, flow);
    if (reply) {
      reply.hooks.sent = (message) => log.sent(id, message, count);
      reply.hooks.stalled = (stall) =>
        log.writeStalled(id, stall.message, count, stall.unsent, stall.stalledMs, stall.waitingForRoom);
    }
    try {
      // A connection whose client reads nothing holds no more than its budget of unsent replies: a
      // handler waits for room before it makes its next message (issue 21).
      for await (const response of chatReplies(call.request, replies, abort.signal, () => reply?.room(abort.signal))) {
        reply?.count(toBinary(ChatResponseSchema, response).byteLength + 5);
        abort.signal.throwIfAborted();
        // The write callback runs once grpc-js's HTTP/2 stream has sent the message to the socket
        // (or has been destroyed: the reply flow tells the two apart).
        const written = call.write(response, () => reply?.sent());
        // Respect flow control: a slow reader makes the handler wait, not buffer.
        if (!written) await once(call, "drain", { signal: abort.signal });
      }
      ledger.settle(id, "ok");
      call.end();
    } catch {
      const reason = abort.signal.reason;
      if (reply?.stalled) {
        // Its own line said what happened: the stream was reset for a stalled write.
      } else if (reason === shuttingDown) {
        ledger.settle(id, codeName(reason.code), reason.details);
        call.emit("error", reason);
      } else if (reason === "deadline_exceeded") {
        // grpc-js sent the status itself.
        ledger.settle(id, reason, "Deadline exceeded");
      } else {
        log.clientGone(id, String(reason ?? "unknown"));
      }
    } finally {
      active.delete(id);
      ledger.release(id);
    }
  }

  const health = createHealthStatus({ services: [ChatService.typeName] });
  const keepaliveOptions = {
    // grpc-js takes a keepalive time of 2 hours or more as "off".
    "grpc.keepalive_time_ms": keepalive.intervalMs > 0 ? keepalive.intervalMs : 2 ** 31 - 1,
    "grpc.keepalive_timeout_ms": keepalive.timeoutMs,
  };
  const server = new grpc.Server({
    // The same limits as server.ts (see lib/server-flags.ts).
    "grpc.max_receive_message_length": readMaxBytes,
    "grpc.max_concurrent_streams": maxStreams,
    // A profile's options (--options) over the flags' defaults, under the flags given: a case's remedy.
    ...(keepalive.explicit ? { ...libraryOptions, ...keepaliveOptions } : { ...keepaliveOptions, ...libraryOptions }),
    // Connection rotation (issue 17): grpc-js's own, its jitter included.
    ...(connectionAge.maxAgeMs > 0 && { "grpc.max_connection_age_ms": connectionAge.maxAgeMs }),
    ...(connectionAge.graceMs !== undefined && { "grpc.max_connection_age_grace_ms": connectionAge.graceMs }),
    interceptors: [streamAccess.interceptor],
  });
  server.addService(chatServiceDefinition, { chat });
  addGrpcJsHealthService(server, health);
  const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const boundPort = await new Promise<number>((resolve, reject) => {
    // No client certificates: the lab's clients prove nothing about themselves (issue 19).
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false)
      : grpc.ServerCredentials.createInsecure();
    server.bindAsync(target, credentials, (error, bound) => {
      // grpc-js does not pass the errno on; its message says what failed.
      if (error) {
        const why = /EADDRINUSE/.test(error.message) ? "is already in use" : `cannot be listened on (${error.message})`;
        reject(new UsageError(`--port ${port}: ${target} ${why}`));
      } else resolve(bound);
    });
  });
  // A session Node gave up on (after a protocol error of the client's) is closed soon, not at keepalive.
  if (onGrpcJsSessions(server, probeWhenIdle) === 0) throw new Error("grpc-js: no HTTP/2 server to watch sessions on");
  log.listening(host, boundPort, "grpc-js");

  const endStreams = () => {
    for (const abort of active.values()) abort.abort(shuttingDown);
  };
  const forceExit = (why: string, status: number) => {
    log.shutdown(`${why}: forceShutdown`);
    ledger.dropping();
    server.forceShutdown();
    process.exit(status);
  };
  /** How long a second signal waits for the streams' statuses to leave before it drops the connections. */
  const flushMs = 500;

  let draining = false;
  let ending = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      if (ending) return;
      ending = true;
      const streams =
        active.size > 0 ? `ending ${active.size} stream(s) with unavailable "server shutting down", then ` : "";
      log.shutdown(`second ${signal}: ${streams}closing the sessions within ${flushMs} ms`);
      endStreams();
      // forceShutdown at once would drop the statuses just handed over (issue 10): tryShutdown, under
      // way since the first signal, ends the process once the sessions have flushed and closed.
      setTimeout(() => forceExit("second signal", 1), flushMs).unref();
      return;
    }
    draining = true;
    // As server.ts: NOT_SERVING from the start of the drain, then watches end.
    health.setAll(ServingStatus.NOT_SERVING);
    health.endWatches(shuttingDown);
    // After the listener closed, as server.ts: the line says what has happened (issue 22).
    server.tryShutdown(() => {
      log.shutdown("done");
      process.exit(ending ? 1 : 0);
    });
    log.shutdown(`${signal}: tryShutdown (GOAWAY), ${active.size} stream(s) in flight, grace ${graceMs} ms`);
    setTimeout(() => {
      if (active.size > 0)
        log.shutdown(`grace over: ending ${active.size} stream(s) with unavailable "server shutting down"`);
      endStreams();
      // tryShutdown completes once those statuses are out; a peer that never
      // reads them must not hold the exit up.
      setTimeout(() => forceExit("sessions still open 1000 ms after grace", 0), 1000).unref();
    }, graceMs).unref();
  };
  // The library's own ways to stop (issue 12), as most servers stop: measured beside ours.
  const libraryStop = (signal: NodeJS.Signals) => {
    if (stopMode === "library-immediate") {
      log.shutdown(`${signal}: forceShutdown(), ${active.size} stream(s) in flight`);
      for (const id of active.keys()) log.cancelledByServer(id, "forceShutdown()");
      server.forceShutdown();
      log.shutdown("done");
      process.exit(0);
    }
    if (draining) return;
    draining = true;
    server.tryShutdown(() => {
      log.shutdown("done");
      process.exit(0);
    });
    log.shutdown(`${signal}: tryShutdown() (GOAWAY), ${active.size} stream(s) in flight`);
  };
  const handler = stopMode === "ours" ? onSignal : libraryStop;
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
});
