"""grpcio 1.51.1 (Debian bookworm's python3-grpcio): with client-side health
checking on (healthCheckConfig in the service config, round_robin), the client
process dies of SIGSEGV when a server's Health/Watch response carries the
header grpc-encoding: gzip, which connect-node sends on every response to a
client that accepts gzip, its messages compressed or not.

    /usr/bin/python3 docs/repro/grpcio-health-check-gzip.py

It makes one Chat call with health checking on against three servers: the
lab's Connect server, and a raw HTTP/2 server of a few lines that answers
Watch with SERVING (the message uncompressed), with and without the header,
and with the message itself gzip-compressed (as connect-go's server sends it).
Each call runs in a child process; it prints how that process ended.

grpcio 1.85.1 (PyPI, peers/grpcio/.venv/bin/python) no longer crashes, but its
health checking cannot read a compressed Watch response: "cannot parse health
check response", every backend unhealthy, the call unavailable.
"""

import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RAW_SERVER = """
const http2 = require("node:http2");
const gzip = process.argv[1] !== "plain";
// "compressed": the message itself gzip-compressed (flag 1), as connect-go sends it to a client that accepts gzip.
const compressed = process.argv[1] === "compressed";
const server = http2.createServer();
server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  const head = { ":status": 200, "content-type": "application/grpc", ...(gzip && { "grpc-encoding": "gzip" }) };
  if (headers[":path"] === "/grpc.health.v1.Health/Watch") {
    stream.respond(head);
    const body = Buffer.from([8, 1]); // HealthCheckResponse{status: SERVING}
    const message = compressed ? require("node:zlib").gzipSync(body) : body;
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(compressed ? 1 : 0, 0);
    prefix.writeUInt32BE(message.length, 1);
    stream.write(Buffer.concat([prefix, message]));
    return;
  }
  stream.respond(head, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(Buffer.from([0, 0, 0, 0, 0])); // an empty ChatResponse
});
server.listen(0, "127.0.0.1", () => console.log("listening on 127.0.0.1:" + server.address().port + " "));
"""

CALL = """
import json, sys
sys.path.insert(0, "peers/grpcio/gen" if int(__import__("google.protobuf").protobuf.__version__.split(".")[0]) >= 5 else "peers/grpcio/gen_debian12")
import grpc, chat_pb2, chat_pb2_grpc
config = {"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}}
channel = grpc.insecure_channel("127.0.0.1:%s", options=[("grpc.service_config", json.dumps(config))])
try:
    for reply in chat_pb2_grpc.ChatServiceStub(channel).Chat(chat_pb2.ChatRequest(name="alice"), timeout=5):
        pass
    print("  ended: ok", flush=True)
except grpc.RpcError as e:
    print("  ended:", e.code(), e.details(), flush=True)
"""


def run(what, command):
    server = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        port = re.search(r":(\d+) ", server.stdout.readline()).group(1)
        print(what)
        client = subprocess.run([sys.executable, "-c", CALL % port], cwd=root)
        if client.returncode < 0:
            print("  the grpcio client died of signal %d" % -client.returncode)
        return client.returncode
    finally:
        server.kill()
        server.wait()


codes = [
    run("the Connect server (server.ts):", ["node", "--import", "tsx", "server.ts", "--port", "0", "--count", "1"]),
    run("a raw HTTP/2 server, Watch without grpc-encoding:", ["node", "-e", RAW_SERVER, "plain"]),
    run("a raw HTTP/2 server, Watch with grpc-encoding: gzip:", ["node", "-e", RAW_SERVER, "gzip"]),
    run("a raw HTTP/2 server, Watch with grpc-encoding: gzip, the message compressed:", ["node", "-e", RAW_SERVER, "compressed"]),
]
sys.exit(1 if any(code < 0 for code in codes) else 0)
