"""What does a grpcio client read when its deadline passes while a grpc-go server's handler waits?

Issue 27, the lab's stall+deadline against grpc-go: the server (docs/repro/go/grpc-go-deadline-reset,
grpc-go alone) sends one message, then waits until the call's context ends. grpc-go enforces the
deadline the client sent (grpc-timeout) on its own timer and resets the stream, RST_STREAM(CANCEL);
the client's own timer runs out at about the same moment. The gRPC rules (statuscodes.md) call for
DEADLINE_EXCEEDED. It prints how many of the calls ended with each code.

  cd docs/repro/go && go build -o /tmp/grpc-go-deadline-reset ./grpc-go-deadline-reset && cd ../../..
  peers/grpcio/.venv/bin/python docs/repro/grpcio-deadline-vs-grpc-go.py /tmp/grpc-go-deadline-reset
"""

import collections
import subprocess
import sys

import grpc

server = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE, text=True)
try:
    port = server.stdout.readline().strip()
    codes = collections.Counter()
    for _ in range(100):
        # A channel per call: each its own connection, as the lab's runs.
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_stream("/repro.Stall/Watch")(b"hello", timeout=0.8)
            try:
                for _message in call:
                    pass
                codes["OK"] += 1
            except grpc.RpcError as e:
                codes[f"{e.code().name} {e.details()!r}"] += 1
    print(f"grpcio {grpc.__version__}, 100 calls, deadline 800 ms:")
    for code, n in codes.most_common():
        print(f"{n:>4}  {code}")
finally:
    server.kill()
