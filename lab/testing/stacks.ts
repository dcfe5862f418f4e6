import { type ClientStack, clientStacks, type ServerStack, serverStacks, stackPairs } from "../catalogue/stacks.ts";
import { availableStacks } from "../engine/peer-builds.ts";

/**
 * The stacks a test can run here: every Node stack, and each stack in another
 * language whose toolchain is here and whose peer built (`npm test` builds
 * them first: scripts/build-peers.ts). Tests of a stack that is not here are
 * skipped, as the lab skips it.
 */
const available = Promise.all([availableStacks(serverStacks, () => {}), availableStacks(clientStacks, () => {})]);

export async function readyServers(): Promise<ServerStack[]> {
  return (await available)[0];
}

export async function readyClients(): Promise<ClientStack[]> {
  return (await available)[1];
}

/** Whether a server stack (by id) or client stack (by id, "grpcio/grpc") can run here. */
export async function ready(id: string): Promise<boolean> {
  const [servers, clients] = await available;
  return servers.some((s) => s.id === id) || clients.some((c) => c.id === id);
}

/** The pairs of the stacks the tests run by default (run-cases.ts testStacks) that are here. */
export async function testPairs(): Promise<ReturnType<typeof stackPairs>> {
  const { testStacks } = await import("./run-cases.ts");
  const servers = (await readyServers()).filter((s) => testStacks.servers.includes(s.id));
  const clients = (await readyClients()).filter((c) => testStacks.clients.includes(c.id));
  return stackPairs(servers, clients);
}
