/**
 * What keepalive on an idle connection costs (issue 18): for each client
 * stack and profile, one channel through the lab's relay makes one call and
 * then idles; the relay's tap counts the PINGs each side sends while it
 * does. The rate follows from the settings (a PING per interval), save
 * where a library keeps its own pace: this measures it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type Profile, profileArgs, readProfile } from "../lab/catalogue/profiles.ts";
import { defaultSettings } from "../lab/catalogue/settings.ts";
import { type ClientStack, clientStacks, serverStacks } from "../lab/catalogue/stacks.ts";
import { startServer, stopAllChildren } from "../lab/engine/child-process.ts";
import { createAgentPool } from "../lab/engine/client-agent.ts";
import { createRelay } from "../lab/faults/relay.ts";
import { readyClients } from "../lab/testing/stacks.ts";

export interface IdlePingRow {
  profile: string;
  client: string;
  /** PINGs (not ACKs) per minute while the connection idled, each way. */
  clientPingsPerMin: number;
  serverPingsPerMin: number;
  idleMs: number;
}

/** Idles one channel per client stack under each profile for `idleMs`, and counts the PINGs. */
export async function measureIdlePings(profiles: readonly string[], idleMs: number): Promise<IdlePingRow[]> {
  const server = serverStacks.find((s) => s.id === "connect");
  if (!server) throw new Error("no connect server stack");
  const here = await readyClients();
  const clients = clientStacks.filter((c) => c.protocol === "grpc" && here.some((h) => h.id === c.id));
  const rows: IdlePingRow[] = [];
  // One agent per stack for every profile: a profile's settings are its channel's (the JVM and
  // Python agents take seconds to start).
  const agents = createAgentPool();
  try {
    for (const name of profiles) {
      const profile = readProfile(name, defaultSettings);
      const { server: child, port } = await startServer({
        entry: server.program,
        args: profileArgs(profile, "server", server.id),
      });
      try {
        rows.push(...(await Promise.all(clients.map((client) => idleOnce(profile, client, port, agents, idleMs)))));
      } finally {
        await child.stop();
      }
    }
  } finally {
    await agents.close();
    await stopAllChildren();
  }
  return rows;
}

async function idleOnce(
  profile: Profile,
  client: ClientStack,
  port: number,
  agents: ReturnType<typeof createAgentPool>,
  idleMs: number,
): Promise<IdlePingRow> {
  const relay = await createRelay({ targetPort: port });
  try {
    const channel = await agents
      .get(client)
      .open([
        "--port",
        String(relay.port),
        "--protocol",
        client.protocol,
        ...profileArgs(profile, "client", client.client),
      ]);
    await channel.call(["--name", "bench"]).result;
    const from = performance.now();
    await sleep(idleMs);
    const to = performance.now();
    const pings = (dir: "c2s" | "s2c") =>
      relay.connections
        .flatMap((c) => c.frames)
        .filter((f) => f.dir === dir && f.type === "PING" && !f.flags.includes("ACK") && f.at >= from && f.at < to)
        .length;
    await channel.close();
    const perMin = (n: number) => Math.round((n * 60_000) / idleMs);
    return {
      profile: profile.name,
      client: client.id,
      clientPingsPerMin: perMin(pings("c2s")),
      serverPingsPerMin: perMin(pings("s2c")),
      idleMs,
    };
  } finally {
    await relay.close();
  }
}
