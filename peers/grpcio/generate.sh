#!/bin/sh
# Generates the Python code of chat.proto and the health proto (`npm run generate:peers`):
#   gen/            with the venv's grpcio-tools (PyPI, requirements.txt), for grpcio from PyPI
#   gen_debian12/   with Debian's python3-grpc-tools, for Debian's grpcio 1.51.1 (its
#                   protobuf 4.21 cannot load the newer code, nor the newer runtime the older)
# With a folder, writes both there instead. health.proto is compiled from a copy at the
# include root: compiled where it lives (grpc/health/v1/), its modules would sit in a
# package named grpc and hide grpcio's.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$root/chat.proto" "$tmp/chat.proto"
cp "$root/grpc/health/v1/health.proto" "$tmp/health.proto"
generate() {
  mkdir -p "$2"
  "$1" -m grpc_tools.protoc -I"$tmp" --python_out="$2" --grpc_python_out="$2" chat.proto health.proto
}
generate "${VENV_PYTHON:-$here/.venv/bin/python}" "$out/gen"
generate "${DEBIAN_PYTHON:-/usr/bin/python3}" "$out/gen_debian12"
