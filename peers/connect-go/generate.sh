#!/bin/sh
# Generates gen/ from chat.proto and the health proto with buf (node_modules) and the
# Go plugins go.mod pins as tools: `npm run generate:peers`. With a folder, writes there.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here}"
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
cd "$here"
go build -o "$bin/" google.golang.org/protobuf/cmd/protoc-gen-go connectrpc.com/connect/cmd/protoc-gen-connect-go
cd "$root"
PATH="$bin:$PATH" "$root/node_modules/.bin/buf" generate --template "$here/buf.gen.yaml" \
  --path chat.proto --path grpc/health/v1/health.proto -o "$out"
