/**
 * The Chat client on grpc-js, with the same flags, printed lines and JSON
 * result as client.ts (gRPC protocol only).
 *
 *   node --import tsx peers/grpc-js-client.ts --ping-interval-ms 1000
 *
 * Ctrl-C cancels the call (call.cancel()): it ends `canceled` at once. With
 * --agent it is the lab's client agent instead (lib/client-agent.ts).
 */
import { parseFlags, runCli } from "../lib/cli.ts";
import { runClientAgent } from "../lib/client-agent.ts";
import { grpcJsClientFlags, readClientSettings } from "../lib/client-flags.ts";
import { createGrpcJsCaller } from "../lib/grpc-js-caller.ts";
import { runCalls } from "../lib/run-calls.ts";

runCli("grpc-js-client", async () => {
  const settings = readClientSettings(
    parseFlags({
      program: "grpc-js-client",
      summary: "one Chat call (or a health check) with grpc-js (gRPC only)",
      flags: grpcJsClientFlags,
    }),
    ["grpc"],
  );
  if (settings.agent) {
    runClientAgent({
      client: "grpc-js",
      program: "grpc-js-client",
      protocols: ["grpc"],
      createCaller: createGrpcJsCaller,
    });
    return;
  }
  // One channel for every call: --calls shows whether it recovers after a server restart.
  await runCalls({ client: "grpc-js", settings, caller: createGrpcJsCaller(settings) });
});
