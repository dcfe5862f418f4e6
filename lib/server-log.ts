/**
 * The lines both servers print on stdout, one per event, so that a user (or
 * a script) can follow a stream from either server the same way. The
 * `listening on HOST:PORT` line is printed once the server accepts
 * connections; scripts wait for it.
 */
export interface ServerLog {
  listening(host: string, port: number, implementation: string): void;
  streamStarted(id: number, peer: string, protocol: string): void;
  /** A message's write callback ran: HTTP/2 framed it and handed it to the socket. */
  sent(id: number, index: number, count: number): void;
  /** A reply could not be sent for the write-stall timeout: the stream is reset. */
  /** The write-stall timeout reset a stream: its reply could not go out, or (waitingForRoom) not even be made. */
  writeStalled(
    id: number,
    index: number,
    count: number,
    unsentBytes: number,
    stalledMs: number,
    waitingForRoom?: boolean,
  ): void;
  /** The stream closed cleanly with this status: its last frame (trailers or end-stream message) went out. */
  ended(id: number, code: string, message?: string): void;
  /** The handler ended with this status, but the stream closed before it went out. */
  undelivered(id: number, code: string, message: string | undefined, why: string): void;
  /** The client left (cancel, deadline, reset, connection lost). */
  clientGone(id: number, code: string, message?: string): void;
  /** The server's own stop cut the stream off (a library's immediate stop): what its client reads is the library's. */
  cancelledByServer(id: number, how: string): void;
  shutdown(phase: string): void;
  /** `memory: heap used N bytes, rss N bytes[, after gc], N handler(s) running` (see lib/memory-report.ts). */
  memory(heapUsed: number, rss: number, afterGc: boolean, handlersRunning: number): void;
}

/**
 * What a listening address exposes the server to, or undefined when only
 * this machine can reach it. The servers bind 127.0.0.1 by default; a user
 * who widens that should be told, once, on stderr.
 */
export function exposureWarning(host: string): string | undefined {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "0.0.0.0" || bare === "::" || bare === "0:0:0:0:0:0:0:0") {
    return `warning: listening on all interfaces (${host}): any machine that can reach this one can call the server; --host 127.0.0.1 keeps it local`;
  }
  const loopback = bare === "localhost" || bare === "::1" || /^127\./.test(bare) || /^::ffff:127\./i.test(bare);
  return loopback
    ? undefined
    : `warning: listening on ${host}, not a loopback address: other machines may call the server; --host 127.0.0.1 keeps it local`;
}

export interface ServerLogOptions {
  /** Drop the per-message lines (for throughput runs). Default: false. */
  quiet?: boolean;
}

export function createServerLog(options: ServerLogOptions = {}): ServerLog {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const detail = (message?: string) => (message ? ` ${JSON.stringify(message)}` : "");
  return {
    listening(host, port, implementation) {
      const shown = host.includes(":") ? `[${host}]` : host;
      const warning = exposureWarning(host);
      if (warning) process.stderr.write(`${warning}\n`);
      out(`listening on ${shown}:${port} (pid ${process.pid}, ${implementation})`);
    },
    streamStarted(id, peer, protocol) {
      out(`stream ${id} started: peer ${peer}, protocol ${protocol}`);
    },
    sent(id, index, count) {
      if (!options.quiet) out(`stream ${id} message ${index}/${count} sent to the socket`);
    },
    writeStalled(id, index, count, unsentBytes, stalledMs, waitingForRoom) {
      const why = waitingForRoom
        ? `not made for ${stalledMs} ms (its connection holds its budget of unsent replies)`
        : `not sent for ${stalledMs} ms (${unsentBytes} bytes waiting for the client's flow-control window)`;
      out(`stream ${id} write stalled: message ${index}/${count} ${why}; reset with RST_STREAM(ENHANCE_YOUR_CALM)`);
    },
    ended(id, code, message) {
      out(`stream ${id} ended: ${code}${detail(message)}`);
    },
    undelivered(id, code, message, why) {
      out(`stream ${id} status not delivered: ${code}${detail(message)} (${why})`);
    },
    clientGone(id, code, message) {
      out(`stream ${id} client gone: ${code}${detail(message)}`);
    },
    cancelledByServer(id, how) {
      out(`stream ${id} cancelled by ${how}`);
    },
    shutdown(phase) {
      out(`shutdown: ${phase}`);
    },
    memory(heapUsed, rss, afterGc, handlersRunning) {
      const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
      out(
        `memory: heap used ${heapUsed} bytes (${mib(heapUsed)}), rss ${rss} bytes (${mib(rss)})${afterGc ? ", after gc" : ""}, ${handlersRunning} handler(s) running`,
      );
    },
  };
}
