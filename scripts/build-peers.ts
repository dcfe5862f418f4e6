/**
 * Builds the peers in other languages (issue 27), each with its own
 * toolchain: Go (peers/connect-go, peers/grpc-go), cargo (peers/tonic),
 * Maven (peers/grpc-java) and a Python venv with PyPI's grpcio
 * (peers/grpcio). What is built already is kept; a missing toolchain is one
 * line, and the rest still builds. The lab does the same at its start.
 *
 *   npm run peers:build
 */
import * as path from "node:path";
import { clientStacks, serverStacks } from "../lab/catalogue/stacks.ts";
import { availableStacks } from "../lab/engine/peer-builds.ts";
import { runCli } from "../lib/cli.ts";

export async function buildAllPeers(say: (line: string) => void): Promise<void> {
  await availableStacks([...serverStacks, ...clientStacks], say);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  runCli("peers:build", () => buildAllPeers((line) => process.stdout.write(`peers: ${line}\n`)));
}
