#!/usr/bin/env python3
"""The Chat server on grpcio (gRPC core, Python), with the flags and printed
lines of server.ts where grpcio can tell what happened (gRPC protocol only).

    peers/grpcio/.venv/bin/python peers/grpcio/server.py --port 50051

--stop-mode says how SIGTERM or SIGINT stops it: `ours` (as server.ts: GOAWAY,
streams finish within --grace-ms, the rest end unavailable "server shutting
down"; a second signal ends everything at once), `library-graceful`
(grpcio's server.stop(grace)) or `library-immediate` (server.stop(0)).

What grpcio cannot say, it does not claim: gRPC core keeps flow control to
itself, so a message is "handed to gRPC core", not "sent to the socket", and
there is no write-stall timeout.
"""

import asyncio
import errno
import gc
import os
import signal
import socket
import sys
import time
import tracemalloc

from lab_common import (  # noqa: E402
    UsageError,
    authority,
    choice_flag,
    OPTIONS_FLAG,
    int_flag,
    optional_int_flag,
    options_flag,
    SERVER_TLS_FLAGS,
    server_tls,
    out,
    parse_flags,
    require_grpcio,
    run_cli,
)

require_grpcio("grpcio-server")

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

import chat_pb2  # noqa: E402
import chat_pb2_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402

PROGRAM = "grpcio-server"
STOP_MODES = ["ours", "library-graceful", "library-immediate"]

FLAGS = {
    "host": ("string", "address to listen on", "127.0.0.1"),
    "port": ("string", "port to listen on; 0 picks a free one", "50051"),
    "count": ("string", "responses per Chat stream", "3"),
    "interval-ms": ("string", "pause between two responses", "2000"),
    "grace-ms": ("string", "graceful-shutdown budget: in-flight streams may finish within it", "5000"),
    "stall-after": ("string", "stop sending after this many messages and stay silent", "never"),
    "read-max-bytes": ("string", "largest request message accepted (grpc.max_receive_message_length)", "4194304"),
    "max-streams": ("string", "concurrent streams per connection (grpc.max_concurrent_streams)", "100"),
    "ping-interval-ms": ("string", "server-side keepalive: PING each connection this often; 0 turns it off", "60000"),
    "ping-timeout-ms": ("string", "server-side keepalive: close a connection whose PING is unanswered this long", "20000"),
    "write-stall-timeout-ms": ("string", "only 0: gRPC core keeps flow control to itself (no write-stall timeout)", "0"),
    "max-connection-age-ms": ("string", "rotate connections: GOAWAY this long after each opened (grpc.max_connection_age_ms)", "0 (off)"),
    "max-connection-age-grace-ms": (
        "string",
        "after the age GOAWAY, how long streams may run (grpc.max_connection_age_grace_ms)",
        "none: until they end",
    ),
    "stop-mode": ("string", "how a signal stops it: %s" % ", ".join(STOP_MODES), "ours"),
    "quiet": ("boolean", "do not print a line per message", None),
    "options": OPTIONS_FLAG,
    **SERVER_TLS_FLAGS,
}

SERVING, NOT_SERVING, SERVICE_UNKNOWN = 1, 2, 3
CHAT_SERVICE = "chat.v1.ChatService"


def read_settings():
    flags = parse_flags(PROGRAM, "the Chat service on grpcio (gRPC over h2c)", FLAGS, sys.argv[1:])
    if int_flag(flags, "write-stall-timeout-ms", 0) != 0:
        raise UsageError("--write-stall-timeout-ms: grpcio offers no view of flow control, only 0 (off)")
    count = int_flag(flags, "count", 3, 1)
    return {
        "host": flags.get("host", "127.0.0.1"),
        "port": int_flag(flags, "port", 50051, 0, 65535),
        "count": count,
        "interval_ms": int_flag(flags, "interval-ms", 2000),
        "grace_ms": int_flag(flags, "grace-ms", 5000),
        "stall_after": optional_int_flag(flags, "stall-after", 0),
        "read_max_bytes": int_flag(flags, "read-max-bytes", 4 * 1024 * 1024, 1, 2**31 - 1),
        "max_streams": int_flag(flags, "max-streams", 100, 1, 2**31 - 1),
        "ping_interval_ms": int_flag(flags, "ping-interval-ms", 60_000),
        "ping_timeout_ms": int_flag(flags, "ping-timeout-ms", 20_000, 1),
        "stop_mode": choice_flag(flags, "stop-mode", STOP_MODES, "ours"),
        "max_age_ms": int_flag(flags, "max-connection-age-ms", 0),
        "max_age_grace_ms": optional_int_flag(flags, "max-connection-age-grace-ms", 0),
        "quiet": flags.get("quiet") is True,
        "options": options_flag(flags),
        "tls": server_tls(flags),
        # Flags given on the command line win over --options; the flags' defaults do not.
        "explicit": {name for name in ("ping-interval-ms", "ping-timeout-ms") if flags.get(name) is not None},
    }


def peer_of(context):
    """grpcio says ipv4:127.0.0.1:5000; the others say 127.0.0.1:5000."""
    peer = context.peer() or "unknown"
    for prefix in ("ipv4:", "ipv6:"):
        if peer.startswith(prefix):
            return peer[len(prefix) :]
    return peer


class State:
    """What the handlers share: stream numbers, the running ones, the shutdown, the health status."""

    def __init__(self, settings):
        self.settings = settings
        self.next_id = 1
        self.running = 0
        # Set when the grace is over: handlers still running end unavailable "server shutting down".
        self.shutting_down = asyncio.Event()
        self.status = {"": SERVING, CHAT_SERVICE: SERVING}
        self.status_changed = asyncio.Condition()
        self.draining = False
        # Set once the server's own stop cancels the calls still running (server.stop's grace is
        # over): a call cancelled from then on was ended by us, not by its client.
        self.cancelled_by = None


class Chat(chat_pb2_grpc.ChatServiceServicer):
    def __init__(self, state):
        self.state = state

    async def Chat(self, request, context):  # noqa: N802: the method's name in chat.proto
        state, s = self.state, self.state.settings
        stream_id = state.next_id
        state.next_id += 1
        state.running += 1
        out("stream %d started: peer %s, protocol grpc" % (stream_id, peer_of(context)))
        finished = {"by_us": None}

        def done(_call):
            # The call is over: its status went to gRPC core's transport, or it was cancelled.
            if finished["by_us"] is not None:
                code, message = finished["by_us"]
                detail = ' "%s"' % message if message else ""
                out("stream %d ended: %s%s" % (stream_id, code, detail))

        context.add_done_callback(done)
        try:
            for index in range(1, s["count"] + 1):
                if s["stall_after"] is not None and index > s["stall_after"]:
                    # Stalled: no message, no end, until the caller leaves (or the server stops).
                    await state.shutting_down.wait()
                if index > 1 and s["interval_ms"] > 0:
                    try:
                        await asyncio.wait_for(state.shutting_down.wait(), s["interval_ms"] / 1000)
                    except asyncio.TimeoutError:
                        pass
                if state.shutting_down.is_set():
                    finished["by_us"] = ("unavailable", "server shutting down")
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "server shutting down")
                now = time.time()
                sent_at = Timestamp(seconds=int(now), nanos=int((now % 1) * 1e9))
                text = 'hello %s, reply %d of %d to "%s"' % (request.name or "anonymous", index, s["count"], request.text)
                yield chat_pb2.ChatResponse(index=index, text=text, sent_at=sent_at)
                if not s["quiet"]:
                    out("stream %d message %d/%d handed to gRPC core" % (stream_id, index, s["count"]))
            finished["by_us"] = ("ok", "")
        except (asyncio.CancelledError, GeneratorExit) as e:
            # CancelledError: gRPC core cancelled the call (the client reset it, its connection
            # dropped, its deadline passed). GeneratorExit: grpcio dropped the handler because a
            # write of its failed (the stream was gone while a reply was still on its way).
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                out("stream %d ended: deadline_exceeded" % stream_id)
            elif finished["by_us"] is None and state.cancelled_by is not None:
                out("stream %d cancelled by %s" % (stream_id, state.cancelled_by))
            elif finished["by_us"] is None:
                how = "" if isinstance(e, asyncio.CancelledError) else ' "grpcio closed the handler: its write failed"'
                out("stream %d client gone: canceled%s" % (stream_id, how))
            raise
        finally:
            state.running -= 1


class Health(health_pb2_grpc.HealthServicer):
    """grpc.health.v1.Health, as lib/health-status.ts serves it on the Node servers."""

    def __init__(self, state):
        self.state = state

    async def Check(self, request, context):  # noqa: N802
        status = self.state.status.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, 'unknown service "%s"' % request.service)
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(self, request, context):  # noqa: N802
        state = self.state
        last = None
        while True:
            status = state.status.get(request.service, SERVICE_UNKNOWN)
            if status != last:
                last = status
                yield health_pb2.HealthCheckResponse(status=status)
                # The drain may have begun while this message was on its way (the tap caught a
                # watch that ended without NOT_SERVING): read the status again before ending.
                continue
            if state.draining:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "server shutting down")
            async with state.status_changed:
                await state.status_changed.wait()


def report_memory(state):
    """SIGUSR2: the memory line of lib/memory-report.ts. Heap is what Python holds after a full
    collection, as tracemalloc counts it (start with -X tracemalloc; gRPC core's own buffers
    show in RSS only)."""
    gc.collect()
    mib = lambda n: "%.1f MiB" % (n / 2**20)  # noqa: E731
    with open("/proc/self/statm") as statm:
        rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    if tracemalloc.is_tracing():
        heap = tracemalloc.get_traced_memory()[0]
        heap_text = "heap used %d bytes (%s)" % (heap, mib(heap))
    else:
        heap_text = "heap used unknown (start with -X tracemalloc)"
    out("memory: %s, rss %d bytes (%s), after gc, %d handler(s) running" % (heap_text, rss, mib(rss), state.running))


async def serve():
    s = read_settings()
    state = State(s)
    options = {
        "grpc.max_receive_message_length": s["read_max_bytes"],
        "grpc.max_concurrent_streams": s["max_streams"],
        # Each lab run has a connection of its own: the port is ours alone.
        "grpc.so_reuseport": 0,
    }
    keepalive = {}
    if s["ping_interval_ms"] > 0:
        keepalive = {"grpc.keepalive_time_ms": s["ping_interval_ms"], "grpc.keepalive_timeout_ms": s["ping_timeout_ms"]}
    if s["explicit"]:
        # A case's own keepalive: over the profile's (--options).
        options.update(s["options"])
        options.update(keepalive)
    else:
        options.update(keepalive)
        options.update(s["options"])
    if s["max_age_ms"] > 0:
        options["grpc.max_connection_age_ms"] = s["max_age_ms"]
    if s["max_age_grace_ms"] is not None:
        options["grpc.max_connection_age_grace_ms"] = s["max_age_grace_ms"]
    options = list(options.items())
    server = grpc.aio.server(options=options)
    chat_pb2_grpc.add_ChatServiceServicer_to_server(Chat(state), server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(state), server)
    host = s["host"]
    address = authority(host, s["port"])
    if s["port"] != 0:
        # gRPC core would log its own multi-line error first: ask the kernel ourselves, for one line.
        probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, s["port"]))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UsageError("--port %d: %s is already in use" % (s["port"], address)) from None
        finally:
            probe.close()
    try:
        if s["tls"] is not None:
            # Over TLS (issue 19), no client certificates: the lab's clients prove nothing about themselves.
            port = server.add_secure_port(address, grpc.ssl_server_credentials([s["tls"]]))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if port == 0:
        raise UsageError("--port %d: %s is already in use or cannot be listened on" % (s["port"], address))
    await server.start()

    loop = asyncio.get_running_loop()
    signals = {"count": 0}

    async def set_not_serving():
        state.draining = True
        for service in state.status:
            state.status[service] = NOT_SERVING
        async with state.status_changed:
            state.status_changed.notify_all()

    def mark_cancelled_by_us(how):
        state.cancelled_by = how

    async def stop_server(grace, status):
        """server.stop(grace), then exit: a call it cancels at the end of the grace was ended by us."""
        how = "server.stop(0)" if grace == 0 else "server.stop(%g) at the end of its grace" % grace
        if grace == 0:
            mark_cancelled_by_us(how)
        else:
            loop.call_later(grace, mark_cancelled_by_us, how)
        await server.stop(grace)
        # server.stop() returns before the handlers it cancelled have run their cancellation: give
        # them a moment, so that each says how it ended before the process does.
        for _ in range(50):
            if state.running == 0:
                break
            await asyncio.sleep(0.01)
        out("shutdown: done")
        os._exit(status)

    async def stop(name):
        signals["count"] += 1
        mode = s["stop_mode"]
        if mode == "library-immediate":
            out("shutdown: %s: server.stop(0), %d stream(s) in flight" % (name, state.running))
            await stop_server(0, 0)
        if mode == "library-graceful":
            if signals["count"] > 1:
                return
            grace = s["grace_ms"] / 1000
            out("shutdown: %s: server.stop(%g), %d stream(s) in flight" % (name, grace, state.running))
            await stop_server(grace, 0)
        if signals["count"] > 1:
            out("shutdown: second %s: ending %d stream(s) with unavailable \"server shutting down\"" % (name, state.running))
            state.shutting_down.set()
            await asyncio.sleep(0.5)
            await stop_server(0, 1)
        await set_not_serving()
        out(
            "shutdown: %s: server.stop (GOAWAY), %d stream(s) in flight, grace %d ms"
            % (name, state.running, s["grace_ms"])
        )

        async def grace_over():
            await asyncio.sleep(s["grace_ms"] / 1000)
            if state.running > 0:
                out('shutdown: grace over: ending %d stream(s) with unavailable "server shutting down"' % state.running)
            state.shutting_down.set()

        loop.create_task(grace_over())
        # A second past our grace, gRPC core cancels whatever is left.
        await stop_server(s["grace_ms"] / 1000 + 1, 0)

    stops = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda sig=sig: stops.append(loop.create_task(stop(sig.name))))
    loop.add_signal_handler(signal.SIGUSR2, lambda: report_memory(state))
    # Said once every signal has its handler: a SIGUSR2 that came right after this line, before
    # the handler, ended the process (its default action; seen in a --tls run).
    out("listening on %s (pid %d, grpcio %s)" % (authority(host, port), os.getpid(), grpc.__version__))
    await server.wait_for_termination()
    # The server has stopped; the stop under way still has to say how its streams ended, and it
    # ends the process itself. Returning now would cancel it mid-sentence.
    if stops:
        await asyncio.gather(*stops, return_exceptions=True)


def main():
    # A process started in the background of a non-interactive shell inherits SIGINT as ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    asyncio.run(serve())


if __name__ == "__main__":
    run_cli(PROGRAM, main)
