#!/bin/sh
# Generates src/generated/java from chat.proto with protoc and grpc-java's plugin, both
# from Maven Central at the versions below: `npm run generate:peers`. With a folder,
# writes there instead. protoc matches protobuf-java (pom.xml); the newest
# protoc-gen-grpc-java served for linux-x86_64 is 1.83.1 (1.84 and 1.85 are not), and
# its output runs on the grpc-java of pom.xml.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here}/src/generated/java"
protoc_version=4.36.2
plugin_version=1.83.1
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
cd "$here"
mvn -q -B dependency:copy -Dartifact="com.google.protobuf:protoc:$protoc_version:exe:linux-x86_64" -DoutputDirectory="$tools" >/dev/null
mvn -q -B dependency:copy -Dartifact="io.grpc:protoc-gen-grpc-java:$plugin_version:exe:linux-x86_64" -DoutputDirectory="$tools" >/dev/null
chmod +x "$tools"/*
rm -rf "$out"
mkdir -p "$out"
# buf compiles chat.proto with the well-known types it imports; protoc generates from that.
cd "$root"
"$root/node_modules/.bin/buf" build --path chat.proto -o "$tools/chat.binpb"
"$tools/protoc-$protoc_version-linux-x86_64.exe" --descriptor_set_in="$tools/chat.binpb" \
  --plugin=protoc-gen-grpc-java="$tools/protoc-gen-grpc-java-$plugin_version-linux-x86_64.exe" \
  --java_out="$out" --grpc-java_out="$out" chat.proto
