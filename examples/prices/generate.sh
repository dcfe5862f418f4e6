#!/bin/sh
# Generates the example's Python code into gen/ (or into the folder given) with the lab's
# grpcio venv (peers/grpcio, its grpcio-tools pinned in requirements.txt).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here}/gen"
mkdir -p "$out"
"${VENV_PYTHON:-$root/peers/grpcio/.venv/bin/python}" -m grpc_tools.protoc -I"$here/proto" \
  --python_out="$out" --grpc_python_out="$out" shop/v1/money.proto shop/v1/prices.proto
