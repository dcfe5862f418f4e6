#!/usr/bin/env python3
"""The Chat client on grpcio (gRPC core, Python), with the same flags, printed
lines and --json result as client.ts (gRPC protocol only).

    peers/grpcio/.venv/bin/python peers/grpcio/client.py --ping-interval-ms 1000

Ctrl-C cancels the call: it ends `canceled` at once. With --agent it is the
lab's client agent (the line protocol of lib/client-agent.ts).
"""

import asyncio
import collections
import json
import os
import signal
import sys
import threading
import time

from lab_common import (  # noqa: E402
    UsageError,
    authority,
    choice_flag,
    CLIENT_TLS_FLAGS,
    client_tls,
    code_name,
    epoch_ms,
    OPTIONS_FLAG,
    int_flag,
    merge_service_config,
    optional_int_flag,
    options_flag,
    out,
    parse_flags,
    require_grpcio,
    run_cli,
    status_number,
)

require_grpcio("grpcio-client")

import grpc  # noqa: E402

import chat_pb2  # noqa: E402
from dynamic_call import DynamicMethod  # noqa: E402
import chat_pb2_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402

PROGRAM = "grpcio-client"
# What a call on a channel the agent opened may set for itself (lib/client-flags.ts callFlagNames).
CALL_FLAGS = ["name", "text", "timeout-ms", "wait-for-ready", "health", "watch-health", "health-service"]
CALL_SETTINGS = [
    ("method", ["health", "watch-health"]),
    ("health_service", ["health-service"]),
    ("name", ["name"]),
    ("text", ["text"]),
    ("timeout_ms", ["timeout-ms"]),
    ("wait_for_ready", ["wait-for-ready"]),
]
SERVING_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

FLAGS = {
    "host": ("string", "server address", "127.0.0.1"),
    "port": ("string", "server port", "50051"),
    "protocol": ("string", "wire protocol: grpc (grpcio speaks gRPC only)", "grpc"),
    "name": ("string", "name sent in the request", "alice"),
    "text": ("string", "text sent in the request", "are you there?"),
    "ping-interval-ms": ("string", "HTTP/2 keepalive: PING after this long without data", "off"),
    "ping-timeout-ms": ("string", "HTTP/2 keepalive: connection dead if a PING is unanswered this long", "20000"),
    "timeout-ms": ("string", "deadline for the whole call", "none"),
    "idle-timeout-ms": ("string", "abort the stream (deadline_exceeded) when no message came for this long", "none"),
    "health": ("boolean", "instead of Chat, ask grpc.health.v1.Health/Check once; exit 0 only if SERVING", None),
    "watch-health": ("boolean", "instead of Chat, call Health/Watch and print each status until the stream ends", None),
    "health-service": ("string", "service to ask --health or --watch-health about", '"" (the whole server)'),
    "method": ("string", "instead of Chat, call this method of your own service, pkg.v1.Service/Method (issue 28)", "none"),
    "request": ("string", "--method's request in protobuf's JSON form", "{}"),
    "descriptor-set": ("string", "--method's schema: a binary FileDescriptorSet with imports (buf build -o FILE)", "none"),
    "target": ("string", "a gRPC target instead of --host and --port: ipv4:127.0.0.1:P1,127.0.0.2:P2", "none"),
    "lb-policy": ("string", "how a --target's addresses share the calls: pick_first, round_robin", "pick_first"),
    "ping-idle": ("boolean", "keepalive PINGs also while no call is open (grpc.keepalive_permit_without_calls)", None),
    "health-check": ("boolean", "client-side health checking: healthCheckConfig in the service config (with round_robin)", None),
    "wait-for-ready": ("boolean", "a call waits for the channel to be ready instead of failing at once", None),
    "retry": ("string", "attempts in all for a call that fails unavailable before its first message (retry policy)", "1"),
    "options": OPTIONS_FLAG,
    **CLIENT_TLS_FLAGS,
    "calls": ("string", "calls to make one after another on the same channel", "1"),
    "call-gap-ms": ("string", "pause between two calls", "0"),
    "json": ("boolean", "print the result as one JSON object on the last stdout line", None),
    "agent": ("boolean", "serve many calls from stdin, one JSON command per line (the lab's client agent)", None),
}


def read_settings(argv):
    flags = parse_flags(PROGRAM, "one Chat call (or a health check) with grpcio (gRPC only)", FLAGS, argv)
    if flags.get("health") and flags.get("watch-health"):
        raise UsageError("--health and --watch-health: choose one")
    dynamic = None
    if flags.get("method") is not None:
        if flags.get("descriptor-set") is None:
            raise UsageError("--method needs --descriptor-set FILE")
        dynamic = DynamicMethod(flags["method"], flags.get("request", "{}"), flags["descriptor-set"])
    return {
        "method": "health-check" if flags.get("health") else "health-watch" if flags.get("watch-health") else "dynamic" if dynamic else "chat",
        "dynamic": dynamic,
        "health_service": flags.get("health-service", ""),
        "host": flags.get("host", "127.0.0.1"),
        "port": int_flag(flags, "port", 50051, 1, 65535),
        "protocol": choice_flag(flags, "protocol", ["grpc"], "grpc"),
        "name": flags.get("name", "alice"),
        "text": flags.get("text", "are you there?"),
        "ping_interval_ms": optional_int_flag(flags, "ping-interval-ms", 1),
        "ping_timeout_ms": optional_int_flag(flags, "ping-timeout-ms", 1),
        "timeout_ms": optional_int_flag(flags, "timeout-ms", 1),
        "idle_timeout_ms": optional_int_flag(flags, "idle-timeout-ms", 1),
        "target": flags.get("target"),
        "lb_policy": choice_flag(flags, "lb-policy", ["pick_first", "round_robin"], None),
        "ping_idle": flags.get("ping-idle") is True,
        "health_check": flags.get("health-check") is True,
        "wait_for_ready": flags.get("wait-for-ready") is True,
        "retry": int_flag(flags, "retry", 1, 1, 10),
        "options": options_flag(flags),
        "tls_ca": client_tls(flags),
        "calls": int_flag(flags, "calls", 1, 1, 1000),
        "call_gap_ms": int_flag(flags, "call-gap-ms", 0),
        "json": flags.get("json") is True,
        "agent": flags.get("agent") is True,
    }


def channel_options(settings):
    """A channel of its own (no subchannel shared with another), and keepalive as asked.

    The profile's arguments (--options) come first and the flags win over them: a flag is the
    case's remedy. gRPC core's own limits on PINGs (grpc.http2.max_pings_without_data 2,
    grpc.http2.min_time_between_pings_ms 5 min) apply unless --options lifts them: the lab's
    profile does (lab/catalogue/profiles.ts), its `defaults` profile shows what they do.
    """
    user = dict(settings["options"])
    user_config = user.pop("grpc.service_config", None)
    options = dict(user)
    options["grpc.use_local_subchannel_pool"] = 1
    if settings["ping_interval_ms"] is not None:
        options["grpc.keepalive_time_ms"] = settings["ping_interval_ms"]
    if settings["ping_timeout_ms"] is not None:
        options["grpc.keepalive_timeout_ms"] = settings["ping_timeout_ms"]
    if settings["ping_idle"]:
        options["grpc.keepalive_permit_without_calls"] = 1
    if settings["target"]:
        # A list of addresses is no authority: gRPC core would send the list itself (see
        # targetAuthority in lib/grpc-js-caller.ts).
        options["grpc.default_authority"] = "localhost"
    config = merge_service_config(user_config, service_config(settings))
    if config:
        options["grpc.service_config"] = json.dumps(config)
    return list(options.items())


def service_config(settings):
    """The load-balancing policy, health checking and a retry policy (gRFC A6), as lib/grpc-js-caller.ts writes them."""
    config = {}
    if settings["lb_policy"]:
        config["loadBalancingConfig"] = [{settings["lb_policy"]: {}}]
    if settings["health_check"]:
        config["healthCheckConfig"] = {"serviceName": ""}
    if settings["retry"] > 1:
        config["methodConfig"] = [
            {
                "name": [{"service": "chat.v1.ChatService"}, {"service": "grpc.health.v1.Health"}],
                "retryPolicy": {
                    # lib/client-flags.ts retryPolicy: the same for every stack.
                    "maxAttempts": settings["retry"],
                    "initialBackoff": "0.25s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    return config


class Reporter:
    """Prints what the client sees, as lib/call-report.ts does, and keeps the --json record."""

    def __init__(self, settings, call_number, out_line, on_message):
        self.start = time.monotonic()
        self.arrivals = []
        self.out = out_line
        self.on_message = on_message
        which = ", call %d of %d" % call_number if call_number else ""
        target = settings["target"] or authority(settings["host"], settings["port"])
        self.out("calling %s with grpcio, protocol grpc (pid %d%s)" % (target, os.getpid(), which))

    def since(self):
        return round((time.monotonic() - self.start) * 1000)

    def message(self, index, text, sent_at=None):
        ms = self.since()
        self.arrivals.append(ms)
        self.on_message(index, text, epoch_ms())
        sent = " (server sent it at %s)" % sent_at if sent_at else ""
        self.out("[%s ms] message %d: %s%s" % (str(ms).rjust(6), index, json.dumps(text), sent))

    def finish(self, number, message):
        elapsed = self.since()
        result = {
            "client": "grpcio",
            "protocol": "grpc",
            "code": code_name(number),
            "grpcCode": number,
            "message": message,
            "received": len(self.arrivals),
            "firstMessageMs": self.arrivals[0] if self.arrivals else None,
            "elapsedMs": elapsed,
            "arrivalsMs": self.arrivals,
            "endedAt": epoch_ms(),
        }
        detail = " %s" % json.dumps(message) if message else ""
        self.out(
            "[%s ms] ended: %s (%d)%s, %d message(s) received"
            % (str(elapsed).rjust(6), result["code"], number, detail, result["received"])
        )
        return result


def sent_at_text(timestamp):
    """HH:MM:SS.mmm of a google.protobuf.Timestamp, UTC, as the Node clients print it."""
    if timestamp is None or (timestamp.seconds == 0 and timestamp.nanos == 0):
        return None
    ms = timestamp.nanos // 1_000_000
    return time.strftime("%H:%M:%S", time.gmtime(timestamp.seconds)) + ".%03d" % ms


async def one_call(settings, channel, reporter, interrupt):
    """Makes one call; resolves with (status number, message, unhealthy)."""
    timeout = settings["timeout_ms"] / 1000 if settings["timeout_ms"] else None
    ready = True if settings["wait_for_ready"] else None
    method = settings["method"]
    until = asyncio.Event()
    if method == "dynamic":
        call = settings["dynamic"].start(channel, timeout, ready, until)
    elif method == "chat":
        call = chat_pb2_grpc.ChatServiceStub(channel).Chat(
            chat_pb2.ChatRequest(name=settings["name"], text=settings["text"]), timeout=timeout, wait_for_ready=ready
        )
    elif method == "health-check":
        call = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=settings["health_service"]), timeout=timeout, wait_for_ready=ready
        )
    else:
        call = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=settings["health_service"]), timeout=timeout, wait_for_ready=ready
        )
    why = {"idle": False, "interrupted": False}
    idle_timer = None
    loop = asyncio.get_running_loop()

    def arm_idle():
        nonlocal idle_timer
        if settings["idle_timeout_ms"] is None:
            return
        if idle_timer:
            idle_timer.cancel()

        def fire():
            why["idle"] = True
            call.cancel()

        idle_timer = loop.call_later(settings["idle_timeout_ms"] / 1000, fire)

    def on_interrupt():
        why["interrupted"] = True
        call.cancel()

    interrupt.add(on_interrupt)
    unhealthy = False
    try:
        if method == "health-check":
            response = await call
            reporter.message(1, SERVING_NAMES.get(response.status, str(response.status)))
            unhealthy = response.status != 1
            return 0, "", unhealthy
        if method == "dynamic" and settings["dynamic"].kind in ("unary", "client-streaming"):
            response = await call
            reporter.message(1, settings["dynamic"].describe(response))
            return 0, "", False
        arm_idle()
        index = 0
        async for response in call:
            arm_idle()
            if method == "dynamic":
                index += 1
                reporter.message(index, settings["dynamic"].describe(response))
            elif method == "chat":
                reporter.message(response.index, response.text, sent_at_text(response.sent_at))
            else:
                index += 1
                reporter.message(index, SERVING_NAMES.get(response.status, str(response.status)))
        return 0, "", False
    except grpc.aio.AioRpcError as e:
        number, details = status_number(e.code()), e.details() or ""
    except asyncio.CancelledError:
        number, details = 1, "Locally cancelled by application!"
    finally:
        until.set()
        interrupt.discard(on_interrupt)
        if idle_timer:
            idle_timer.cancel()
    if why["idle"]:
        return 4, "idle timeout: no message for %d ms" % settings["idle_timeout_ms"], False
    if why["interrupted"]:
        return 1, interrupt.reason, False
    return number, details, False


def open_channel(settings):
    target = settings["target"] or authority(settings["host"], settings["port"])
    if settings["tls_ca"] is not None:
        # Over TLS (issue 19): the server's certificate checked against the lab's CA, ALPN h2.
        credentials = grpc.ssl_channel_credentials(root_certificates=settings["tls_ca"])
        return grpc.aio.secure_channel(target, credentials, options=channel_options(settings))
    return grpc.aio.insecure_channel(target, options=channel_options(settings))


async def run_sequence(settings, interrupt, out_line, on_start, on_message, channel=None):
    """--calls calls one after another on one channel (a new one, or `channel`), --call-gap-ms apart."""
    results = []
    last_unhealthy = False
    own = channel is None
    if own:
        channel = open_channel(settings)
    try:
        for index in range(1, settings["calls"] + 1):
            if index > 1 and settings["call_gap_ms"] > 0:
                await asyncio.sleep(settings["call_gap_ms"] / 1000)
            if interrupt.fired and index > 1:
                break
            on_start(index, epoch_ms())
            number = (index, settings["calls"]) if settings["calls"] > 1 else None
            reporter = Reporter(settings, number, out_line, lambda i, t, at, n=index: on_message(n, i, t, at))
            code, message, last_unhealthy = await one_call(settings, channel, reporter, interrupt)
            results.append(reporter.finish(code, message))
    finally:
        if own:
            await channel.close()
    record = dict(results[-1])
    if len(results) > 1:
        record["previousCalls"] = results[:-1]
    return record, last_unhealthy


class Interrupt:
    """Who to tell when the call must end (Ctrl-C, or the lab's cancel)."""

    def __init__(self):
        self.listeners = set()
        self.fired = False
        self.reason = "interrupted"

    def add(self, listener):
        self.listeners.add(listener)
        if self.fired:
            listener()

    def discard(self, listener):
        self.listeners.discard(listener)

    def fire(self, reason):
        self.fired = True
        self.reason = reason
        for listener in list(self.listeners):
            listener()


async def cli(settings):
    interrupt = Interrupt()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, interrupt.fire, "interrupted by SIGINT")
    record, unhealthy = await run_sequence(settings, interrupt, out, lambda n, at: None, lambda n, i, t, at: None)
    if settings["json"]:
        out(json.dumps(record, separators=(",", ":")))
    os._exit(0 if record["code"] == "ok" and not unhealthy else 1)


def send(event):
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def agent():
    """The lab's client agent: calls from stdin, each on a channel of its own; events on stdout."""
    loop = asyncio.get_running_loop()
    running = {}
    channels = {}
    calls = 0
    # Ctrl-C reaches the whole process group; the lab ends its agents itself.
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    lateness = collections.deque(maxlen=20000)

    async def watch_lateness():
        # How late a 20 ms timer runs: calls sharing this event loop must not delay one another.
        # Every 20 ms, not 5: the watch itself must not cost the idle agent much CPU (issue 29).
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.02)
            lateness.append(max(0.0, (time.monotonic() - before) * 1000 - 20))

    loop.create_task(watch_lateness())

    def settings_of(command_id, args):
        """The settings of a command's flags, or None after saying why they are refused."""
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            send({"id": command_id, "event": "error", "message": "args must be a list of strings"})
            return None
        if any(a in ("--agent", "--help", "-h") for a in args):
            send({"id": command_id, "event": "error", "message": "--agent and --help are not call flags"})
            return None
        try:
            return read_settings(args)
        except UsageError as e:
            send({"id": command_id, "event": "error", "message": str(e)})
            return None

    async def call(command_id, args, channel_id):
        nonlocal calls
        channel = channels.get(channel_id) if channel_id is not None else None
        if channel_id is not None and channel is None:
            send({"id": command_id, "event": "error", "message": 'no open channel "%s"' % channel_id})
            return
        if channel is not None and isinstance(args, list):
            # A call on a channel sets only what is its own (as lib/client-agent.ts).
            flag = next((a for a in args if a.startswith("--") and a[2:].split("=")[0] not in CALL_FLAGS), None)
            if flag:
                send({"id": command_id, "event": "error", "message": "%s is the channel's: give it when it opens" % flag})
                return
        own = settings_of(command_id, args)
        if own is None:
            return
        if channel is not None:
            said = [key for key, names in CALL_SETTINGS if any(("--" + n) in args for n in names)]
            settings = dict(channel["settings"], **{key: own[key] for key in said}, calls=1, call_gap_ms=0)
        else:
            settings = own
        calls += 1
        interrupt = Interrupt()
        running[command_id] = interrupt
        try:
            record, _ = await run_sequence(
                settings,
                interrupt,
                lambda line: None,
                lambda n, at: send({"id": command_id, "event": "start", "call": n, "at": at}),
                lambda n, i, t, at: send(
                    {"id": command_id, "event": "message", "call": n, "index": i, "text": t, "at": at}
                ),
                channel["channel"] if channel is not None else None,
            )
            send({"id": command_id, "event": "end", "result": record})
        except Exception as e:  # noqa: BLE001: the lab reads it as a lab error
            send({"id": command_id, "event": "error", "message": str(e)})
        finally:
            running.pop(command_id, None)

    def on_line(line):
        try:
            command = json.loads(line)
        except ValueError:
            send({"event": "error", "message": "not a JSON command: %s" % line[:80]})
            return
        command_id = command.get("id") if isinstance(command.get("id"), str) else ""
        op = command.get("op")
        if op == "call":
            if not command_id or command_id in running:
                send({"id": command_id, "event": "error", "message": "call needs a new id"})
            else:
                channel_id = command.get("channel") if isinstance(command.get("channel"), str) else None
                loop.create_task(call(command_id, command.get("args"), channel_id))
        elif op == "open":
            if not command_id or command_id in channels:
                send({"id": command_id, "event": "error", "message": "open needs a new id"})
                return
            settings = settings_of(command_id, command.get("args"))
            if settings is not None:
                channels[command_id] = {"settings": settings, "channel": open_channel(settings)}
                send({"id": command_id, "event": "opened", "at": epoch_ms()})
        elif op == "close":
            channel = channels.pop(command_id, None)
            if channel is None:
                send({"id": command_id, "event": "error", "message": 'no open channel "%s"' % command_id})
            else:
                loop.create_task(channel["channel"].close())
                send({"id": command_id, "event": "closed"})
        elif op == "cancel":
            if command_id in running:
                running[command_id].fire("cancelled by the agent's cancel command")
        elif op == "stats":
            ordered = sorted(lateness) or [0.0]
            pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)  # noqa: E731
            send(
                {
                    "event": "stats",
                    "eventLoopDelayMs": {"p50": pick(0.5), "p99": pick(0.99), "max": round(ordered[-1], 2)},
                    "calls": calls,
                }
            )
        else:
            send({"id": command_id, "event": "error", "message": "unknown op %s" % json.dumps(op)})

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(on_line, line.rstrip("\n"))
        # The lab is gone (or done): so is the agent.
        os._exit(0)

    threading.Thread(target=read_stdin, daemon=True).start()
    send({"event": "ready", "client": "grpcio", "pid": os.getpid(), "library": "grpcio %s" % grpc.__version__})
    await asyncio.Event().wait()


def main():
    # A process started in the background of a non-interactive shell inherits SIGINT as ignored:
    # Ctrl-C must work all the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    settings = read_settings(sys.argv[1:])
    asyncio.run(agent() if settings["agent"] else cli(settings))


if __name__ == "__main__":
    run_cli(PROGRAM, main)
