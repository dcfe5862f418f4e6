#!/bin/sh
# Generates the Python code of chat.proto and the health proto into peers/pylib/gen/, with
# Debian's python3-grpc-tools (or pip's grpcio-tools): `npm run generate:python`.
# health.proto is compiled from a copy at the include root: compiled where it lives
# (grpc/health/v1/), its Python modules would sit in a package named grpc and hide grpcio's.
set -eu
cd "$(dirname "$0")/../.."
python="${PYTHON:-/usr/bin/python3}"
[ -x "$python" ] || python=python3
out="${1:-peers/pylib/gen}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp chat.proto "$tmp/chat.proto"
cp grpc/health/v1/health.proto "$tmp/health.proto"
mkdir -p "$out"
"$python" -m grpc_tools.protoc -I"$tmp" --python_out="$out" --grpc_python_out="$out" chat.proto health.proto
