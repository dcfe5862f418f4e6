"""The original experiment's case 3 by hand, on today's grpcio: a plain
grpcio server (synchronous API, no signal handling of its own, as in the
experiment) gets Ctrl-C (SIGINT) right after message 1 of a stream.

    /usr/bin/python3 docs/repro/grpcio-ctrl-c.py

It starts that server in a child process, calls it with the lab's grpcio
client, sends SIGINT once message 1 has arrived, and prints what the client
ended with and whether the server process was still alive after it.
"""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
server_code = textwrap.dedent(
    """
    import signal, sys, time
    from concurrent import futures
    sys.path.insert(0, "peers/grpcio/gen" if int(__import__("google.protobuf").protobuf.__version__.split(".")[0]) >= 5 else "peers/grpcio/gen_debian12")
    import grpc, chat_pb2, chat_pb2_grpc
    # A process started by another without a terminal may inherit SIGINT as ignored: Ctrl-C must work.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    class Chat(chat_pb2_grpc.ChatServiceServicer):
        def Chat(self, request, context):
            for i in range(1, 4):
                yield chat_pb2.ChatResponse(index=i, text="reply %d" % i)
                time.sleep(2)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    chat_pb2_grpc.add_ChatServiceServicer_to_server(Chat(), server)
    print("listening", server.add_insecure_port("127.0.0.1:0"), flush=True)
    server.start()
    server.wait_for_termination()
    """
)
server = subprocess.Popen(
    [sys.executable, "-c", server_code], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
)
client = None
try:
    port = re.search(r"listening (\d+)", server.stdout.readline()).group(1)
    client = subprocess.Popen(
        [sys.executable, "-u", "peers/grpcio/client.py", "--port", port],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in client.stdout:
        print("client:", line.rstrip())
        if "message 1:" in line:
            server.send_signal(signal.SIGINT)
            print("-> SIGINT to the server (pid %d)" % server.pid)
        if "ended:" in line:
            break
    client.wait(timeout=10)
    time.sleep(0.5)
    print("server process:", "still running" if server.poll() is None else "exited (%s)" % server.returncode)
finally:
    for p in (client, server):
        if p and p.poll() is None:
            p.kill()
            p.wait()
