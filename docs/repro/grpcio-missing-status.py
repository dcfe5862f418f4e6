"""grpcio 1.51.1 (Debian bookworm's python3-grpcio): a client process dies of
SIGILL when a server stream ends with trailers that carry no grpc-status.

    /usr/bin/python3 docs/repro/grpcio-missing-status.py

It starts the lab's fault peer (`--fault missing-status`: message 1, then
trailers with an x-note and no grpc-status) and calls it with grpcio's
synchronous API, in a child process, and prints how that process ended.
"""

import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
peer = subprocess.Popen(
    ["node", "--import", "tsx", "peers/fault-peer.ts", "--port", "0", "--fault", "missing-status"],
    cwd=root,
    stdout=subprocess.PIPE,
    text=True,
)
try:
    port = re.search(r":(\d+) ", peer.stdout.readline()).group(1)
    call = """
import sys
sys.path.insert(0, "peers/grpcio/gen" if int(__import__("google.protobuf").protobuf.__version__.split(".")[0]) >= 5 else "peers/grpcio/gen_debian12")
import grpc, chat_pb2, chat_pb2_grpc
channel = grpc.insecure_channel("127.0.0.1:%s")
try:
    for reply in chat_pb2_grpc.ChatServiceStub(channel).Chat(chat_pb2.ChatRequest(name="alice")):
        print("message", reply.index, flush=True)
    print("ended: ok")
except grpc.RpcError as e:
    print("ended:", e.code(), e.details())
""" % port
    client = subprocess.run([sys.executable, "-c", call], cwd=root)
    if client.returncode < 0:
        print("the grpcio client died of signal %d" % -client.returncode)
    else:
        print("the grpcio client exited %d" % client.returncode)
    sys.exit(1 if client.returncode < 0 else 0)
finally:
    peer.kill()
