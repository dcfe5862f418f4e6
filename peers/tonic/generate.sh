#!/bin/sh
# Generates src/gen/chat.v1.rs from chat.proto: buf (node_modules) compiles it with the
# well-known types it imports, codegen/ (tonic-prost-build) writes the Rust code.
# `npm run generate:peers`; with a folder, writes there instead.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here}/src/gen"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$root"
"$root/node_modules/.bin/buf" build --path chat.proto -o "$tmp/chat.binpb"
mkdir -p "$out"
cd "$here"
cargo run -q --locked -p tonic-lab-codegen -- "$tmp/chat.binpb" "$out"
