"""gRPC core ends a call at its service-config timeout too early: a "2s"
methodConfig timeout ends a server stream after well under 2 s.

    peers/grpcio/.venv/bin/python docs/repro/grpcio-service-config-timeout.py   # grpcio 1.85.1 (PyPI)
    /usr/bin/python3 docs/repro/grpcio-service-config-timeout.py                # grpcio 1.51.1 (Debian 12)

It starts a raw HTTP/2 server of a few lines (Node's http2, no gRPC library)
that streams an empty message every 500 ms for 10 s and prints the
grpc-timeout header it got, then calls it with grpcio and a service config
whose only setting is that timeout, and prints when the call ended.
Measured 2026-12-04: 1.85.1 and 1.51.1 both end it DEADLINE_EXCEEDED after
0.79-0.89 s, with no grpc-timeout header sent. A per-call timeout
(timeout=2) ends it at 2.00 s (grpc-timeout 1980m). Known upstream:
grpc/grpc#34547 ("RPC timeout set via service config is off by ~1s"),
grpc/grpc#40633.
"""

import json
import os
import re
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
major = int(__import__("google.protobuf").protobuf.__version__.split(".")[0])
sys.path.insert(0, os.path.join(root, "peers", "grpcio", "gen" if major >= 5 else "gen_debian12"))
import grpc  # noqa: E402
import chat_pb2  # noqa: E402
import chat_pb2_grpc  # noqa: E402

SERVER = """
const http2 = require("node:http2");
const server = http2.createServer();
server.on("stream", (stream, headers) => {
  console.error("  server: grpc-timeout header: " + (headers["grpc-timeout"] ?? "none"));
  stream.on("error", () => {});
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  let sent = 0;
  const timer = setInterval(() => {
    stream.write(Buffer.from([0, 0, 0, 0, 0])); // an empty ChatResponse
    if (++sent >= 20) { clearInterval(timer); stream.end(); }
  }, 500);
  stream.on("close", () => clearInterval(timer));
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
});
server.listen(0, "127.0.0.1", () => console.log("listening on 127.0.0.1:" + server.address().port + " "));
"""

server = subprocess.Popen(["node", "-e", SERVER], stdout=subprocess.PIPE, text=True)
try:
    port = re.search(r":(\d+) ", server.stdout.readline()).group(1)
    config = {"methodConfig": [{"name": [{"service": "chat.v1.ChatService"}], "timeout": "2s"}]}
    for what, options, timeout in [
        ('service config timeout "2s"', [("grpc.service_config", json.dumps(config))], None),
        ("per-call timeout=2", [], 2),
    ]:
        channel = grpc.insecure_channel("127.0.0.1:%s" % port, options=options)
        start = time.monotonic()
        received = 0
        try:
            for _ in chat_pb2_grpc.ChatServiceStub(channel).Chat(chat_pb2.ChatRequest(name="alice"), timeout=timeout):
                received += 1
            print("grpcio %s, %s: ok" % (grpc.__version__, what))
        except grpc.RpcError as e:
            elapsed = time.monotonic() - start
            print("grpcio %s, %s: %s after %.2f s, %d message(s)" % (grpc.__version__, what, e.code().name, elapsed, received), flush=True)
        channel.close()
        time.sleep(0.2)
finally:
    server.kill()
