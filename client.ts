/**
 * The Chat client on connect-node: one call, each message printed as it
 * arrives, then the ConnectError code it ended with.
 *
 *   node --import tsx client.ts --protocol connect --ping-interval-ms 1000
 *
 * Ctrl-C aborts the call through an AbortController: it ends `canceled` at
 * once, also when the server is suspended and sends nothing. With --agent it
 * is the lab's client agent instead (lib/client-agent.ts).
 */
import { parseFlags, runCli } from "./lib/cli.ts";
import { runClientAgent } from "./lib/client-agent.ts";
import { clientFlags, protocols, readClientSettings, refuseGrpcOnlyFlags } from "./lib/client-flags.ts";
import { createConnectCaller } from "./lib/connect-caller.ts";
import { runCalls } from "./lib/run-calls.ts";

runCli("client", async () => {
  const settings = readClientSettings(
    parseFlags({
      program: "client",
      summary: "one Chat call (or a health check) with connect-node",
      flags: clientFlags,
    }),
  );
  if (settings.agent) {
    runClientAgent({
      client: "connect",
      program: "client",
      protocols,
      createCaller: createConnectCaller,
      refuse: (s) => refuseGrpcOnlyFlags(s, "connect-node"),
    });
    return;
  }
  // One transport for every call: --calls shows whether it recovers after a server restart.
  await runCalls({ client: "connect", settings, caller: createConnectCaller(settings) });
});
