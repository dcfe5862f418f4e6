"""grpcio client keepalive against a server suspended (SIGSTOP) mid-stream.

    python docs/repro/grpcio-keepalive-suspend.py [extra channel args as name=value ...]

A grpcio server in a child process streams 3 raw messages 500 ms apart; the
client (keepalive 250 ms / 250 ms, PINGs allowed without data) stops the server
after the first message and prints how and when its call ends (gives up at 10 s).
"""

import os
import signal
import subprocess
import sys
import time

import grpc

SERVER = r"""
import sys, time, grpc
from concurrent import futures
def chat(request, context):
    for i in range(3):
        yield b"reply %d" % i
        time.sleep(0.5)
server = grpc.server(futures.ThreadPoolExecutor(4))
server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
    "chat.v1.ChatService", {"Chat": grpc.unary_stream_rpc_method_handler(chat)})])
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
server.wait_for_termination()
"""


def main():
    extra = [(k, int(v)) for k, v in (a.split("=", 1) for a in sys.argv[1:])]
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()
        options = [
            ("grpc.keepalive_time_ms", 250),
            ("grpc.keepalive_timeout_ms", 250),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.http2.min_time_between_pings_ms", 250),
        ] + extra
        print("grpcio", grpc.__version__, "options", options)
        channel = grpc.insecure_channel("127.0.0.1:" + port, options=options)
        call = channel.unary_stream("/chat.v1.ChatService/Chat")(b"", timeout=float(os.environ.get("GIVE_UP_S", "10")))
        stopped = None
        try:
            for message in call:
                print("message", message)
                if stopped is None:
                    os.kill(server.pid, signal.SIGSTOP)
                    stopped = time.monotonic()
            print("ended: ok")
        except grpc.RpcError as e:
            print("ended: %s %r after %.0f ms" % (e.code(), e.details(), (time.monotonic() - stopped) * 1000))
    finally:
        server.kill()
        server.wait()


main()
